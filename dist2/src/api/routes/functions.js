import { HearthError } from '../../errors.js';
import { DeployJsonBody, EmptyQuery, FunctionParams, LogsQuery, parseInput } from '../schemas.js';
export function describeVersion(v) {
    return {
        name: v.name,
        version: v.version,
        runtime: v.manifest.runtime,
        handler: v.manifest.handler,
        memoryMB: v.manifest.memoryMB,
        timeoutS: v.manifest.timeoutS,
        concurrency: v.manifest.concurrency,
        network: v.manifest.network,
        codeSha256: v.codeSha256,
        codeBytes: v.codeBytes,
        createdAt: v.createdAt,
        manifest: v.manifest,
    };
}
function deployBody(contentType, body) {
    if (contentType === 'application/zip' || contentType === 'application/octet-stream' || contentType === 'application/x-zip-compressed') {
        return { zip: body };
    }
    if (contentType === 'application/json') {
        let json;
        try {
            json = JSON.parse(body.toString('utf8'));
        }
        catch (error) {
            throw new HearthError('HEARTH_E_BAD_REQUEST', `request body is not valid JSON: ${error.message}`);
        }
        const parsed = parseInput(DeployJsonBody, json, 'body');
        return { zip: Buffer.from(parsed.zipBase64, 'base64'), ...(parsed.manifest ? { manifest: parsed.manifest } : {}) };
    }
    throw new HearthError('HEARTH_E_BAD_REQUEST', `deploy expects Content-Type application/zip or application/json, not '${contentType || 'none'}'`);
}
export function functionRoutes(app, hearth) {
    app.post('/v1/functions', { bodyLimit: Math.ceil(hearth.config.maxUploadBytes * 1.4) + 64 * 1024 }, async (request, reply) => {
        parseInput(EmptyQuery, request.query, 'query');
        const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        const body = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
        if (body.length === 0)
            throw new HearthError('HEARTH_E_BAD_REQUEST', 'deploy needs a body: a zip (Content-Type application/zip) or JSON {"zipBase64", "manifest"}');
        const { zip, manifest } = deployBody(contentType, body);
        if (zip.length > hearth.config.maxUploadBytes) {
            throw new HearthError('HEARTH_E_PACKAGE_TOO_LARGE', `package is ${zip.length} bytes; the limit is ${hearth.config.maxUploadBytes}`);
        }
        const version = await hearth.deploy(zip, manifest);
        return reply.code(201).send(describeVersion(version));
    });
    app.get('/v1/functions', async (request) => {
        parseInput(EmptyQuery, request.query, 'query');
        const stats = new Map(hearth.scheduler.stats().map((s) => [s.function, s]));
        return {
            functions: hearth.registry.list().map((f) => {
                const s = stats.get(f.name);
                const pssKB = s?.instances.reduce((sum, i) => sum + (i.pssKB ?? 0), 0) ?? 0;
                const ussKB = s?.instances.reduce((sum, i) => sum + (i.ussKB ?? 0), 0) ?? 0;
                return { ...describeVersion(f.latest), updatedAt: f.updatedAt, instances: { idle: s?.idle ?? 0, busy: s?.busy ?? 0, starting: s?.starting ?? 0, queued: s?.queued ?? 0 }, memory: { pssKB, ussKB } };
            }),
        };
    });
    app.get('/v1/functions/:name', async (request) => {
        const { name } = parseInput(FunctionParams, request.params, 'path');
        parseInput(EmptyQuery, request.query, 'query');
        const latest = hearth.registry.get(name);
        const [stats] = hearth.scheduler.stats(name);
        return { ...describeVersion(latest), versions: hearth.registry.versions(name).map((v) => ({ version: v.version, codeSha256: v.codeSha256, createdAt: v.createdAt })), instances: stats };
    });
    app.delete('/v1/functions/:name', async (request, reply) => {
        const { name } = parseInput(FunctionParams, request.params, 'path');
        await hearth.remove(name);
        return reply.code(200).send({ deleted: name });
    });
    app.get('/v1/functions/:name/logs', async (request, reply) => {
        const { name } = parseInput(FunctionParams, request.params, 'path');
        const query = parseInput(LogsQuery, request.query, 'query');
        hearth.registry.get(name);
        const lines = await hearth.logs.tail(name, query.lines);
        if (!query.follow) {
            return reply.type('text/plain; charset=utf-8').send(lines.map((l) => `${l}\n`).join(''));
        }
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
        for (const line of lines)
            raw.write(`${line}\n`);
        const stop = hearth.logs.follow(name, (line) => raw.write(line));
        const keepalive = setInterval(() => raw.write(''), 15_000);
        request.raw.on('close', () => {
            stop();
            clearInterval(keepalive);
        });
    });
}
//# sourceMappingURL=functions.js.map