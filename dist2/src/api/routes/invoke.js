import { HearthError } from '../../errors.js';
import { PHASES } from '../../scheduler/scheduler.js';
import { EmptyQuery, FunctionParams, parseInput } from '../schemas.js';
/** Turns a request body into the event's JSON text. */
export function eventFromBody(contentType, body) {
    const buffer = body instanceof Buffer ? body : Buffer.alloc(0);
    const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
    const text = buffer.toString('utf8');
    if (type === '' || type === 'application/json' || type.endsWith('+json')) {
        if (text.trim() === '')
            return '{}';
        try {
            JSON.parse(text);
        }
        catch (error) {
            throw new HearthError('HEARTH_E_BAD_REQUEST', `request body is not valid JSON: ${error.message} (send another Content-Type to pass it as a string)`);
        }
        return text;
    }
    // Anything else reaches the handler as a string.
    return JSON.stringify(text);
}
export function serverTiming(result) {
    return PHASES.map(([name, field]) => `${name};dur=${result.timings[field].toFixed(3)}`).join(', ');
}
function setInvocationHeaders(reply, result) {
    reply.header('x-hearth-request-id', result.requestId);
    reply.header('x-hearth-start-path', result.startPath);
    reply.header('x-hearth-function-version', String(result.version));
    reply.header('server-timing', serverTiming(result));
    if (!result.outcome.ok) {
        reply.header('x-amz-function-error', 'Unhandled');
        reply.header('x-hearth-error-kind', result.outcome.errorKind ?? 'handler');
    }
}
export function invokeRoutes(app, hearth) {
    const bodyLimit = hearth.config.maxPayloadBytes;
    app.post('/function/:name', { bodyLimit }, async (request, reply) => {
        const { name } = parseInput(FunctionParams, request.params, 'path');
        const event = eventFromBody(request.headers['content-type'], request.body);
        const result = await hearth.invoke(name, event);
        setInvocationHeaders(reply, result);
        const o = result.outcome;
        return reply.type('application/json').send(o.ok ? (o.payload ?? 'null') : JSON.stringify(o.error));
    });
    app.post('/v1/functions/:name/invoke', { bodyLimit }, async (request, reply) => {
        const { name } = parseInput(FunctionParams, request.params, 'path');
        parseInput(EmptyQuery, request.query, 'query');
        const event = eventFromBody(request.headers['content-type'], request.body);
        const result = await hearth.invoke(name, event);
        setInvocationHeaders(reply, result);
        const o = result.outcome;
        const logs = await o.logs;
        const body = {
            requestId: result.requestId,
            function: result.function,
            version: result.version,
            startPath: result.startPath,
            instanceId: result.instanceId,
            timings: result.timings,
            ok: o.ok,
            ...(o.ok ? { result: JSON.parse(o.payload ?? 'null') } : { error: o.error, errorKind: o.errorKind }),
            logs,
        };
        return reply.type('application/json').send(JSON.stringify(body));
    });
}
//# sourceMappingURL=invoke.js.map