// The AWS Lambda-compatible REST API (the 2015-03-31 paths the AWS SDKs and CLI
// call), authenticated with SigV4. Error responses use Lambda's shapes
// (status, x-amzn-ErrorType, {"Type","Message"}); see docs/lambda-api.md.
import crypto from 'node:crypto';
import { HearthError, isHearthError } from '../../errors.js';
import { AsyncQueue, DEFAULT_ASYNC_OPTIONS } from '../../lambda/async-queue.js';
import { LambdaApiError, sendLambdaError, toLambdaError } from '../../lambda/errors.js';
import { ASYNC_PAYLOAD_LIMIT, CreateFunctionBody, DEFAULT_ROLE, EmptyQuery, FunctionPathParams, functionArn, functionConfiguration, InvokeHeaders, LAMBDA_DEFAULT_TIMEOUT_S, lambdaFieldName, LATEST, ListFunctionsQuery, manifestPatch, parseFunctionRef, parseLambdaInput, QualifierQuery, requireLatest, revisionId, toHearthRuntime, UpdateFunctionCodeBody, UpdateFunctionConfigurationBody, } from '../../lambda/model.js';
import { LambdaStore } from '../../lambda/store.js';
import { SigV4Error, SigV4Verifier } from '../sigv4.js';
import { serverTiming } from './invoke.js';
export const LAMBDA_API_PREFIX = '/2015-03-31';
/** True for request URLs served by the Lambda API (SigV4 instead of the bearer token). */
export function isLambdaApiPath(url) {
    return url === LAMBDA_API_PREFIX || url.startsWith(`${LAMBDA_API_PREFIX}/`) || url.startsWith(`${LAMBDA_API_PREFIX}?`);
}
const NOT_CONFIGURED = "hearth's Lambda API is disabled because no Lambda credentials are configured. Set HEARTH_LAMBDA_CREDENTIALS=ACCESS_KEY_ID:SECRET_ACCESS_KEY (comma-separated for several pairs) or HEARTH_LAMBDA_CREDENTIALS_FILE=<file with one pair per line>, restart hearth, and sign requests with that key pair (see docs/lambda-api.md).";
function sigv4ToLambda(error) {
    switch (error.code) {
        case 'missing':
            return new LambdaApiError('MissingAuthenticationTokenException', `${error.message}: sign requests with AWS Signature Version 4 using a key pair configured in HEARTH_LAMBDA_CREDENTIALS`);
        case 'incomplete':
            return new LambdaApiError('IncompleteSignatureException', error.message);
        case 'unknown-key':
            return new LambdaApiError('UnrecognizedClientException', error.message);
        case 'expired':
        case 'mismatch':
            return new LambdaApiError('InvalidSignatureException', error.message);
    }
}
/** Runs mutations of one function one after another (create, update, delete). */
class KeyedLock {
    tails = new Map();
    run(key, fn) {
        const previous = this.tails.get(key) ?? Promise.resolve();
        const result = previous.then(fn);
        const tail = result.catch(() => undefined);
        this.tails.set(key, tail);
        void tail.then(() => {
            if (this.tails.get(key) === tail)
                this.tails.delete(key);
        });
        return result;
    }
}
function jsonBody(request) {
    const buffer = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
    if (buffer.length === 0)
        return {};
    try {
        return JSON.parse(buffer.toString('utf8'));
    }
    catch (error) {
        throw new LambdaApiError('InvalidRequestContentException', `Could not parse request body into json: ${error.message}`);
    }
}
/** Lambda requires an invocation payload to be JSON; an empty payload is `{}`. */
function payloadToEvent(body) {
    const text = body.toString('utf8');
    if (text.trim() === '')
        return '{}';
    try {
        JSON.parse(text);
    }
    catch (error) {
        throw new LambdaApiError('InvalidRequestContentException', `Could not parse request body into json: Could not parse payload into json: ${error.message}`);
    }
    return text;
}
function decodeZip(base64, limit) {
    const zip = Buffer.from(base64, 'base64');
    if (zip.length > limit)
        throw new LambdaApiError('RequestTooLargeException', `Unzipped size must be smaller than ${limit} bytes: the zip file is ${zip.length} bytes`);
    return zip;
}
/** Deploy and configuration errors of hearth's registry, with Lambda's field names. */
function deployError(error, operation) {
    if (!isHearthError(error))
        return error;
    if (error.code === 'HEARTH_E_MANIFEST_INVALID') {
        const issue = error.details?.issues?.[0];
        if (issue)
            return new LambdaApiError('InvalidParameterValueException', `${operation}: '${lambdaFieldName(issue.field)}' ${issue.message}`);
    }
    if (error.code === 'HEARTH_E_PACKAGE_INVALID' && /not a valid zip archive/.test(error.message)) {
        return new LambdaApiError('InvalidParameterValueException', `Could not unzip uploaded file. Please check your file, then try to upload again. (${error.message})`);
    }
    if (error.code === 'HEARTH_E_PACKAGE_TOO_LARGE') {
        return new LambdaApiError('InvalidParameterValueException', `Unzipped size must be smaller than the limit: ${error.message}`);
    }
    return error;
}
/** Lambda's body for an unhandled function error, per runtime (Node.js `trace`, Python `stackTrace` + `requestId`). */
function functionErrorBody(fn, result) {
    const error = result.outcome.error ?? { errorType: 'Runtime.Unknown', errorMessage: 'the function failed without an error' };
    if (result.outcome.errorKind && result.outcome.errorKind !== 'handler')
        return { errorType: error.errorType, errorMessage: error.errorMessage };
    if (fn.manifest.runtime === 'python3.11')
        return { errorMessage: error.errorMessage, errorType: error.errorType, requestId: result.requestId, stackTrace: error.stackTrace ?? [] };
    return { errorType: error.errorType, errorMessage: error.errorMessage, trace: error.stackTrace ?? [] };
}
/** Lambda's `LogType: Tail`: START/END/REPORT lines around the invocation's output; the last 4 KB, base64. */
function tailLog(fn, result, output) {
    const id = result.requestId;
    const t = result.timings;
    const report = [`REPORT RequestId: ${id}`, `Duration: ${t.execMs.toFixed(2)} ms`, `Billed Duration: ${Math.max(1, Math.ceil(t.execMs))} ms`, `Memory Size: ${fn.manifest.memoryMB} MB`];
    if (result.startPath !== 'warm')
        report.push(`Init Duration: ${t.initMs.toFixed(2)} ms`);
    const lines = [`START RequestId: ${id} Version: ${LATEST}`, ...(output === '' ? [] : [output]), `END RequestId: ${id}`, `${report.join('\t')}\t`];
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    return bytes.subarray(Math.max(0, bytes.length - 4096)).toString('base64');
}
function encodeMarker(name) {
    return Buffer.from(`after:${name}`).toString('base64url');
}
function decodeMarker(marker) {
    const text = Buffer.from(marker, 'base64url').toString('utf8');
    if (!/^after:[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(text)) {
        throw new LambdaApiError('InvalidParameterValueException', "ListFunctions: 'Marker' is not valid; pass the NextMarker of a previous ListFunctions response");
    }
    return text.slice('after:'.length);
}
export function lambdaRoutes(app, hearth) {
    const config = hearth.config;
    void app.register(async (scope) => {
        const store = new LambdaStore(config.dataDir);
        const queue = new AsyncQueue(hearth, store, { ...DEFAULT_ASYNC_OPTIONS, retryDelaysMs: config.lambdaAsyncRetryDelaysMs });
        const verifier = new SigV4Verifier(config.lambdaCredentials, 'lambda');
        const prechecked = new WeakMap();
        const locks = new KeyedLock();
        const log = hearth.log.child({ component: 'lambda-api' });
        hearth.registry.onChange((event) => {
            if (event.kind !== 'deleted' || !store.isOpen)
                return;
            store.deleteMeta(event.name);
            queue.dropFunction(event.name);
        });
        scope.addHook('onListen', async () => {
            if (config.lambdaCredentials.length === 0)
                log.info('Lambda API disabled: no Lambda credentials configured (HEARTH_LAMBDA_CREDENTIALS)');
            else
                log.info({ prefix: LAMBDA_API_PREFIX, keys: config.lambdaCredentials.length }, 'Lambda API enabled (SigV4)');
            queue.start();
        });
        scope.addHook('onClose', async () => {
            queue.stop();
            store.close();
        });
        const regionOf = (request) => prechecked.get(request)?.region ?? 'local';
        const latestOf = (request, name) => {
            const fn = hearth.registry.find(name);
            if (!fn)
                throw new LambdaApiError('ResourceNotFoundException', `Function not found: ${functionArn(regionOf(request), name)}`);
            return fn;
        };
        const configurationOf = (request, fn) => functionConfiguration(fn, store.getMeta(fn.name), regionOf(request));
        const functionRef = (request) => {
            const params = parseLambdaInput(FunctionPathParams, request.params, 'path');
            const query = parseLambdaInput(QualifierQuery, request.query, 'query');
            const ref = parseFunctionRef(params.FunctionName);
            requireLatest(ref, query.Qualifier, regionOf(request));
            return { name: ref.name };
        };
        const checkRevision = (given, fn) => {
            if (given !== undefined && given !== revisionId(fn)) {
                throw new LambdaApiError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id');
            }
        };
        // Authentication: the cheap checks before the body is read, the signature over the body after.
        scope.addHook('onRequest', async (request, reply) => {
            reply.header('x-amzn-RequestId', crypto.randomUUID());
            if (config.lambdaCredentials.length === 0)
                throw new LambdaApiError('UnrecognizedClientException', NOT_CONFIGURED);
            try {
                prechecked.set(request, verifier.precheck(request.raw.headersDistinct, request.raw.url ?? '/'));
            }
            catch (error) {
                throw error instanceof SigV4Error ? sigv4ToLambda(error) : error;
            }
        });
        scope.addHook('preHandler', async (request) => {
            const p = prechecked.get(request);
            if (!p)
                throw new LambdaApiError('MissingAuthenticationTokenException', 'Missing Authentication Token');
            try {
                await verifier.verify(p, { method: request.method, rawUrl: request.raw.url ?? '/', headers: request.raw.headersDistinct, body: request.body instanceof Buffer ? request.body : undefined });
            }
            catch (error) {
                throw error instanceof SigV4Error ? sigv4ToLambda(error) : error;
            }
        });
        scope.setErrorHandler((error, request, reply) => {
            const operation = request.routeOptions.config?.operation;
            let lambdaError;
            if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
                lambdaError = new LambdaApiError('RequestTooLargeException', `Request must be smaller than ${request.routeOptions.bodyLimit ?? config.maxPayloadBytes} bytes for the ${operation ?? 'requested'} operation`);
            }
            else {
                lambdaError = toLambdaError(error, operation ? { operation } : {});
            }
            if (lambdaError.type === 'ServiceException')
                request.log.error({ err: error }, 'Lambda API: internal error');
            return sendLambdaError(reply, lambdaError);
        });
        scope.setNotFoundHandler((request, reply) => sendLambdaError(reply, new LambdaApiError('UnknownOperationException', `Unknown operation: ${request.method} ${request.url.split('?')[0]} (hearth implements the operations listed in docs/lambda-api.md)`)));
        const uploadLimit = Math.ceil(config.maxUploadBytes * 1.4) + 64 * 1024;
        const smallLimit = 1024 * 1024;
        // CreateFunction
        scope.post('/functions', { bodyLimit: uploadLimit, config: { operation: 'CreateFunction' } }, async (request, reply) => {
            parseLambdaInput(EmptyQuery, request.query, 'query');
            const body = parseLambdaInput(CreateFunctionBody, jsonBody(request), 'CreateFunction');
            const ref = parseFunctionRef(body.FunctionName);
            if (ref.qualifier !== undefined)
                throw new LambdaApiError('InvalidParameterValueException', 'CreateFunction: FunctionName must not carry a qualifier');
            const zip = decodeZip(body.Code.ZipFile, config.maxUploadBytes);
            const version = await locks.run(ref.name, async () => {
                if (hearth.registry.find(ref.name))
                    throw new LambdaApiError('ResourceConflictException', `Function already exist: ${ref.name}`);
                const manifest = {
                    name: ref.name,
                    runtime: toHearthRuntime(body.Runtime),
                    handler: body.Handler,
                    memoryMB: body.MemorySize ?? 128,
                    timeoutS: body.Timeout ?? LAMBDA_DEFAULT_TIMEOUT_S,
                    env: body.Environment?.Variables ?? {},
                    ...(body.Description !== undefined ? { description: body.Description } : {}),
                };
                const deployed = await hearth.deploy(zip, manifest).catch((error) => {
                    throw deployError(error, 'CreateFunction');
                });
                store.putMeta({ name: ref.name, role: body.Role, tags: body.Tags ?? {}, codeSha256: deployed.codeSha256, codeSize: zip.length });
                return deployed;
            });
            return reply.code(201).type('application/json').send(JSON.stringify(configurationOf(request, version)));
        });
        // ListFunctions
        scope.get('/functions', { bodyLimit: smallLimit, config: { operation: 'ListFunctions' } }, async (request, reply) => {
            const query = parseLambdaInput(ListFunctionsQuery, request.query, 'ListFunctions');
            const all = hearth.registry.list();
            const after = query.Marker !== undefined ? decodeMarker(query.Marker) : undefined;
            const start = after === undefined ? 0 : all.findIndex((f) => f.name > after);
            const remaining = start === -1 ? [] : all.slice(start);
            const pageSize = Math.min(query.MaxItems ?? 50, 50);
            const page = remaining.slice(0, pageSize);
            const body = { Functions: page.map((f) => configurationOf(request, f.latest)) };
            if (remaining.length > page.length)
                body.NextMarker = encodeMarker(page[page.length - 1].name);
            return reply.type('application/json').send(JSON.stringify(body));
        });
        // GetFunction
        scope.get('/functions/:FunctionName', { bodyLimit: smallLimit, config: { operation: 'GetFunction' } }, async (request, reply) => {
            const { name } = functionRef(request);
            const fn = latestOf(request, name);
            const tags = store.getMeta(name)?.tags ?? {};
            const body = { Configuration: configurationOf(request, fn), ...(Object.keys(tags).length > 0 ? { Tags: tags } : {}) };
            return reply.type('application/json').send(JSON.stringify(body));
        });
        // GetFunctionConfiguration (the SDK's waiters poll it)
        scope.get('/functions/:FunctionName/configuration', { bodyLimit: smallLimit, config: { operation: 'GetFunctionConfiguration' } }, async (request, reply) => {
            const { name } = functionRef(request);
            return reply.type('application/json').send(JSON.stringify(configurationOf(request, latestOf(request, name))));
        });
        // DeleteFunction
        scope.delete('/functions/:FunctionName', { bodyLimit: smallLimit, config: { operation: 'DeleteFunction' } }, async (request, reply) => {
            const params = parseLambdaInput(FunctionPathParams, request.params, 'path');
            const query = parseLambdaInput(QualifierQuery, request.query, 'query');
            const ref = parseFunctionRef(params.FunctionName);
            const qualifier = query.Qualifier ?? ref.qualifier;
            if (qualifier === LATEST)
                throw new LambdaApiError('InvalidParameterValueException', '$LATEST version cannot be deleted without deleting the function.');
            requireLatest(ref, query.Qualifier, regionOf(request));
            await locks.run(ref.name, async () => {
                latestOf(request, ref.name);
                await hearth.remove(ref.name);
            });
            return reply.code(204).send();
        });
        // UpdateFunctionCode
        scope.put('/functions/:FunctionName/code', { bodyLimit: uploadLimit, config: { operation: 'UpdateFunctionCode' } }, async (request, reply) => {
            const { name } = functionRef(request);
            const body = parseLambdaInput(UpdateFunctionCodeBody, jsonBody(request), 'UpdateFunctionCode');
            const zip = decodeZip(body.ZipFile, config.maxUploadBytes);
            const version = await locks.run(name, async () => {
                const latest = latestOf(request, name);
                checkRevision(body.RevisionId, latest);
                const deployed = await hearth.deploy(zip, latest.manifest).catch((error) => {
                    throw deployError(error, 'UpdateFunctionCode');
                });
                const meta = store.getMeta(name);
                store.putMeta({ name, role: meta?.role ?? DEFAULT_ROLE, tags: meta?.tags ?? {}, codeSha256: deployed.codeSha256, codeSize: zip.length });
                return deployed;
            });
            return reply.type('application/json').send(JSON.stringify(configurationOf(request, version)));
        });
        // UpdateFunctionConfiguration
        scope.put('/functions/:FunctionName/configuration', { bodyLimit: smallLimit, config: { operation: 'UpdateFunctionConfiguration' } }, async (request, reply) => {
            const { name } = functionRef(request);
            const body = parseLambdaInput(UpdateFunctionConfigurationBody, jsonBody(request), 'UpdateFunctionConfiguration');
            const version = await locks.run(name, async () => {
                const latest = latestOf(request, name);
                checkRevision(body.RevisionId, latest);
                const updated = await hearth.registry.updateConfiguration(name, manifestPatch(body)).catch((error) => {
                    throw deployError(error, 'UpdateFunctionConfiguration');
                });
                if (body.Role !== undefined) {
                    const meta = store.getMeta(name);
                    store.putMeta({ name, role: body.Role, tags: meta?.tags ?? {}, codeSha256: meta?.codeSha256 ?? updated.codeSha256, codeSize: meta?.codeSize ?? updated.codeBytes });
                }
                log.info({ function: name, version: updated.version }, 'configuration updated');
                return updated;
            });
            return reply.type('application/json').send(JSON.stringify(configurationOf(request, version)));
        });
        // Invoke
        scope.post('/functions/:FunctionName/invocations', { bodyLimit: config.maxPayloadBytes, config: { operation: 'Invoke' } }, async (request, reply) => {
            const { name } = functionRef(request);
            const headers = parseLambdaInput(InvokeHeaders, {
                invocationType: request.headers['x-amz-invocation-type'],
                logType: request.headers['x-amz-log-type'],
                clientContext: request.headers['x-amz-client-context'],
            }, 'Invoke headers');
            const fn = latestOf(request, name);
            const body = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
            if (headers.invocationType === 'DryRun')
                return reply.code(204).send();
            if (headers.invocationType === 'Event') {
                if (body.length > ASYNC_PAYLOAD_LIMIT) {
                    throw new LambdaApiError('RequestTooLargeException', `Request must be smaller than ${ASYNC_PAYLOAD_LIMIT} bytes for an asynchronous (Event) invocation; this payload is ${body.length} bytes`);
                }
                const event = payloadToEvent(body);
                const id = crypto.randomUUID();
                queue.enqueue(name, event, id);
                return reply.code(202).header('x-amzn-RequestId', id).send();
            }
            if (body.length > config.maxPayloadBytes) {
                throw new LambdaApiError('RequestTooLargeException', `Request must be smaller than ${config.maxPayloadBytes} bytes for the Invoke operation`);
            }
            const event = payloadToEvent(body);
            let result;
            try {
                result = await hearth.invoke(name, event);
            }
            catch (error) {
                if (error instanceof HearthError && error.code === 'HEARTH_E_FUNCTION_NOT_FOUND') {
                    throw new LambdaApiError('ResourceNotFoundException', `Function not found: ${functionArn(regionOf(request), name)}`);
                }
                throw error;
            }
            reply.header('x-amzn-RequestId', result.requestId);
            reply.header('x-amz-executed-version', LATEST);
            reply.header('x-hearth-start-path', result.startPath);
            reply.header('server-timing', serverTiming(result));
            if (headers.logType === 'Tail')
                reply.header('x-amz-log-result', tailLog(fn, result, await result.outcome.logs));
            const outcome = result.outcome;
            if (!outcome.ok) {
                reply.header('x-amz-function-error', 'Unhandled');
                return reply.code(200).type('application/json').send(JSON.stringify(functionErrorBody(fn, result)));
            }
            return reply.code(200).type('application/json').send(outcome.payload ?? 'null');
        });
    }, { prefix: LAMBDA_API_PREFIX });
}
//# sourceMappingURL=lambda.js.map