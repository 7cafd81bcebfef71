// The CLI's HTTP client for hearth's API.
import { HearthError } from '../errors.js';

export interface ClientOptions {
  url: string;
  token?: string;
}

export class CliError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

export class HearthClient {
  constructor(private readonly options: ClientOptions) {}

  async request(method: string, path: string, body?: { data: Buffer | string; contentType: string }): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body) headers['content-type'] = body.contentType;
    let response: Response;
    try {
      response = await fetch(new URL(path, this.options.url), { method, headers, ...(body ? { body: typeof body.data === 'string' ? body.data : new Uint8Array(body.data) } : {}) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new CliError(`cannot reach hearth at ${this.options.url} (${cause?.code ?? (error as Error).message}); is 'hearth up' running?`);
    }
    if (response.status >= 400) {
      const text = await response.text();
      let message = text;
      let code: string | undefined;
      try {
        const json = JSON.parse(text) as ReturnType<HearthError['toJSON']>;
        message = json.error.message;
        code = json.error.code;
      } catch {
        // not JSON: keep the text
      }
      throw new CliError(`${message} (HTTP ${response.status})`, code);
    }
    return response;
  }

  async json<T>(method: string, path: string, body?: { data: Buffer | string; contentType: string }): Promise<T> {
    const response = await this.request(method, path, body);
    return (await response.json()) as T;
  }
}
