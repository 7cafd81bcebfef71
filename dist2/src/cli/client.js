export class CliError extends Error {
    code;
    constructor(message, code) {
        super(message);
        this.code = code;
    }
}
export class HearthClient {
    options;
    constructor(options) {
        this.options = options;
    }
    async request(method, path, body) {
        const headers = {};
        if (this.options.token)
            headers.authorization = `Bearer ${this.options.token}`;
        if (body)
            headers['content-type'] = body.contentType;
        let response;
        try {
            response = await fetch(new URL(path, this.options.url), { method, headers, ...(body ? { body: typeof body.data === 'string' ? body.data : new Uint8Array(body.data) } : {}) });
        }
        catch (error) {
            const cause = error.cause;
            throw new CliError(`cannot reach hearth at ${this.options.url} (${cause?.code ?? error.message}); is 'hearth up' running?`);
        }
        if (response.status >= 400) {
            const text = await response.text();
            let message = text;
            let code;
            try {
                const json = JSON.parse(text);
                message = json.error.message;
                code = json.error.code;
            }
            catch {
                // not JSON: keep the text
            }
            throw new CliError(`${message} (HTTP ${response.status})`, code);
        }
        return response;
    }
    async json(method, path, body) {
        const response = await this.request(method, path, body);
        return (await response.json());
    }
}
//# sourceMappingURL=client.js.map