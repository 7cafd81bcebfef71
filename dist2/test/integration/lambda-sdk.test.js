// The Lambda-compatible API driven by the real AWS SDK (@aws-sdk/client-lambda)
// and, when installed, the real `aws` CLI, against a real hearth with real runtimes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { CreateFunctionCommand, DeleteFunctionCommand, GetFunctionCommand, GetFunctionConfigurationCommand, InvokeCommand, LambdaClient, ListFunctionsCommand, paginateListFunctions, UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand, waitUntilFunctionActiveV2, } from '@aws-sdk/client-lambda';
import { zipDirectory } from '../../src/cli/zip-dir.js';
import { deployOk, startTestHearth, tempDir, writeFunction } from '../helpers.js';
// The SDK warns about Node 20 support ending in 2027; the tests pin the SDK in package-lock.json.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const CREDS = { accessKeyId: 'AKIDHEARTHTEST0001', secretAccessKey: 'hearth-test-secret-0123456789abcdef' };
const OTHER_CREDS = { accessKeyId: 'AKIDHEARTHTEST0002', secretAccessKey: 'second-test-secret-0123456789abcdef' };
const ROLE = 'arn:aws:iam::123456789012:role/lambda-test-role';
const REGION = 'us-east-1';
let h;
let lambda;
const clients = [];
function client(overrides = {}, url = h.url) {
    // The SDK annotates the credentials object it is given: hand it a copy.
    const credentials = { ...(overrides.credentials ?? CREDS) };
    const c = new LambdaClient({ endpoint: url, region: REGION, maxAttempts: 1, ...overrides, credentials });
    clients.push(c);
    return c;
}
before(async () => {
    // queueLength 0: an invocation beyond a function's concurrency is throttled at once (TooManyRequestsException).
    h = await startTestHearth({ lambdaCredentials: [CREDS, OTHER_CREDS], lambdaAsyncRetryDelaysMs: [200, 400], queueLength: 0 });
    lambda = client();
});
after(async () => {
    for (const c of clients)
        c.destroy();
    await h.cleanup();
});
async function zipOf(files) {
    return zipDirectory(writeFunction(undefined, files));
}
function sha256Base64(data) {
    return crypto.createHash('sha256').update(data).digest('base64');
}
async function create(input, c = lambda) {
    const { files, ...rest } = input;
    const zip = await zipOf(files);
    const output = await c.send(new CreateFunctionCommand({ Role: ROLE, Code: { ZipFile: zip }, ...rest }));
    return { zip, output };
}
function payloadOf(output) {
    const text = Buffer.from(output.Payload ?? new Uint8Array()).toString('utf8');
    return text === '' ? undefined : JSON.parse(text);
}
function tailOf(output) {
    assert.ok(output.LogResult, 'LogResult is set with LogType Tail');
    return Buffer.from(output.LogResult, 'base64').toString('utf8');
}
/** The SDK's error for `promise`, which must fail. */
async function sdkError(promise) {
    try {
        await promise;
    }
    catch (error) {
        return error;
    }
    assert.fail('the call succeeded but should have failed');
}
async function waitFor(what, check, limitMs = 30_000) {
    const deadline = Date.now() + limitMs;
    for (;;) {
        const value = await check();
        if (value)
            return value;
        if (Date.now() > deadline)
            assert.fail(`gave up waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}
/** Sum of a Prometheus counter's samples whose labels include `labels`. */
async function metric(url, name, labels) {
    const text = await (await fetch(`${url}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
        const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
        if (!m)
            continue;
        if (Object.entries(labels).every(([k, v]) => m[1].includes(`${k}="${v}"`)))
            sum += Number(m[2]);
    }
    return sum;
}
const NODE_ECHO = {
    'index.mjs': `export const handler = async (event, context) => {
  console.log('echo', JSON.stringify(event));
  return { event, requestId: context.awsRequestId, functionName: context.functionName, memory: context.memoryLimitInMB, greeting: process.env.GREETING ?? null };
};
`,
};
describe('functions: create, get, list, update, delete', () => {
    test('CreateFunction returns a FunctionConfiguration the SDK parses; GetFunction and the SDK waiter agree', async () => {
        const { zip, output } = await create({
            FunctionName: 'sdk-echo',
            Runtime: 'nodejs20.x',
            Handler: 'index.handler',
            MemorySize: 256,
            Timeout: 10,
            Description: 'created by the SDK test',
            Environment: { Variables: { GREETING: 'hello' } },
            Tags: { team: 'hearth' },
            files: NODE_ECHO,
        });
        assert.equal(output.$metadata.httpStatusCode, 201);
        assert.equal(output.FunctionName, 'sdk-echo');
        assert.equal(output.FunctionArn, `arn:aws:lambda:${REGION}:000000000000:function:sdk-echo`);
        assert.equal(output.Runtime, 'nodejs20.x');
        assert.equal(output.Handler, 'index.handler');
        assert.equal(output.Role, ROLE);
        assert.equal(output.MemorySize, 256);
        assert.equal(output.Timeout, 10);
        assert.equal(output.Description, 'created by the SDK test');
        assert.equal(output.CodeSha256, sha256Base64(zip), 'CodeSha256 is the base64 SHA-256 of the zip, as Lambda reports it');
        assert.equal(output.CodeSize, zip.length);
        assert.equal(output.Version, '$LATEST');
        assert.equal(output.State, 'Active');
        assert.equal(output.PackageType, 'Zip');
        assert.deepEqual(output.Environment, { Variables: { GREETING: 'hello' } });
        assert.match(String(output.LastModified), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
        const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'sdk-echo' }));
        assert.equal(got.Configuration?.CodeSha256, sha256Base64(zip));
        assert.equal(got.Configuration?.RevisionId, output.RevisionId);
        assert.deepEqual(got.Tags, { team: 'hearth' });
        const byArn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: `arn:aws:lambda:${REGION}:000000000000:function:sdk-echo` }));
        assert.equal(byArn.FunctionName, 'sdk-echo');
        const waited = await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 10 }, { FunctionName: 'sdk-echo' });
        assert.equal(waited.state, 'SUCCESS');
    });
    test('CreateFunction with defaults: Lambda\'s 3 s timeout and 128 MB', async () => {
        const { output } = await create({ FunctionName: 'sdk-defaults', Runtime: 'python3.11', Handler: 'app.handler', files: { 'app.py': 'def handler(event, context):\n    return event\n' } });
        assert.equal(output.Timeout, 3);
        assert.equal(output.MemorySize, 128);
        assert.equal(output.Runtime, 'python3.11');
        assert.equal(output.Environment, undefined);
    });
    test('ListFunctions paginates with Marker/MaxItems; the SDK paginator walks every page', async () => {
        for (const name of ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']) {
            await create({ FunctionName: name, Runtime: 'nodejs20.x', Handler: 'index.handler', files: NODE_ECHO });
        }
        const seen = [];
        let marker;
        let pages = 0;
        do {
            const page = await lambda.send(new ListFunctionsCommand({ MaxItems: 2, ...(marker ? { Marker: marker } : {}) }));
            assert.ok((page.Functions ?? []).length <= 2);
            seen.push(...(page.Functions ?? []).map((f) => f.FunctionName));
            marker = page.NextMarker;
            pages += 1;
        } while (marker);
        assert.ok(pages >= 3, `pages: ${pages}`);
        assert.equal(new Set(seen).size, seen.length, 'no function appears twice');
        for (const name of ['page-a', 'page-b', 'page-c', 'page-d', 'page-e', 'sdk-echo'])
            assert.ok(seen.includes(name), name);
        assert.deepEqual(seen, [...seen].sort(), 'listed in name order');
        const viaPaginator = [];
        for await (const page of paginateListFunctions({ client: lambda, pageSize: 3 }, {}))
            viaPaginator.push(...(page.Functions ?? []).map((f) => f.FunctionName));
        assert.deepEqual(viaPaginator, seen);
        const bad = await sdkError(lambda.send(new ListFunctionsCommand({ Marker: 'not-a-marker' })));
        assert.equal(bad.name, 'InvalidParameterValueException');
    });
    test('UpdateFunctionCode deploys new code with the same configuration', async () => {
        const zip = await zipOf({ 'index.mjs': `export const handler = async () => ({ version: 'two', greeting: process.env.GREETING });\n` });
        const updated = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'sdk-echo', ZipFile: zip }));
        assert.equal(updated.CodeSha256, sha256Base64(zip));
        assert.equal(updated.CodeSize, zip.length);
        assert.equal(updated.MemorySize, 256, 'configuration is kept');
        assert.equal(updated.Role, ROLE);
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo' }));
        assert.deepEqual(payloadOf(result), { version: 'two', greeting: 'hello' });
        // Back to the echo code for the tests below.
        const echo = await zipOf(NODE_ECHO);
        await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'sdk-echo', ZipFile: echo }));
    });
    test('UpdateFunctionConfiguration changes the configuration and keeps the code; RevisionId guards updates', async () => {
        const before = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'sdk-echo' }));
        const updated = await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'sdk-echo', MemorySize: 512, Timeout: 20, Description: 'reconfigured', Environment: { Variables: { GREETING: 'hola' } }, RevisionId: before.RevisionId }));
        assert.equal(updated.MemorySize, 512);
        assert.equal(updated.Timeout, 20);
        assert.equal(updated.Description, 'reconfigured');
        assert.deepEqual(updated.Environment, { Variables: { GREETING: 'hola' } });
        assert.equal(updated.CodeSha256, before.CodeSha256, 'same code');
        assert.notEqual(updated.RevisionId, before.RevisionId);
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo', Payload: JSON.stringify({ n: 1 }) }));
        const body = payloadOf(result);
        assert.equal(body.greeting, 'hola');
        assert.equal(body.memory, '512');
        const stale = await sdkError(lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'sdk-echo', Timeout: 5, RevisionId: before.RevisionId })));
        assert.equal(stale.name, 'PreconditionFailedException');
        assert.equal(stale.$metadata.httpStatusCode, 412);
        const bad = await sdkError(lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'sdk-echo', Environment: { Variables: { AWS_REGION: 'x' } } })));
        assert.equal(bad.name, 'InvalidParameterValueException');
        assert.match(bad.message, /Environment\.Variables\.AWS_REGION/);
    });
    test('DeleteFunction removes the function', async () => {
        await create({ FunctionName: 'sdk-doomed', Runtime: 'nodejs20.x', Handler: 'index.handler', files: NODE_ECHO });
        const deleted = await lambda.send(new DeleteFunctionCommand({ FunctionName: 'sdk-doomed' }));
        assert.equal(deleted.$metadata.httpStatusCode, 204);
        const gone = await sdkError(lambda.send(new GetFunctionCommand({ FunctionName: 'sdk-doomed' })));
        assert.equal(gone.name, 'ResourceNotFoundException');
        const again = await sdkError(lambda.send(new DeleteFunctionCommand({ FunctionName: 'sdk-doomed' })));
        assert.equal(again.name, 'ResourceNotFoundException');
    });
});
describe('Invoke', () => {
    test('RequestResponse: payload in, result out, executed version, request id', async () => {
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo', Payload: JSON.stringify({ hello: 'world' }) }));
        assert.equal(result.StatusCode, 200);
        assert.equal(result.FunctionError, undefined);
        assert.equal(result.ExecutedVersion, '$LATEST');
        const body = payloadOf(result);
        assert.deepEqual(body.event, { hello: 'world' });
        assert.equal(body.functionName, 'sdk-echo');
        assert.equal(body.requestId, result.$metadata.requestId, 'x-amzn-RequestId is the invocation\'s request id');
        const empty = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo' }));
        assert.deepEqual(payloadOf(empty).event, {}, 'no payload is {} as on Lambda');
    });
    test('LogType Tail returns the invocation\'s output in X-Amz-Log-Result', async () => {
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo', Payload: JSON.stringify({ tail: 'me' }), LogType: 'Tail' }));
        const tail = tailOf(result);
        const id = result.$metadata.requestId;
        assert.match(tail, new RegExp(`^START RequestId: ${id} Version: \\$LATEST$`, 'm'));
        assert.match(tail, /^echo \{"tail":"me"\}$/m);
        assert.match(tail, new RegExp(`^END RequestId: ${id}$`, 'm'));
        assert.match(tail, new RegExp(`^REPORT RequestId: ${id}\\tDuration: [\\d.]+ ms\\tBilled Duration: \\d+ ms\\tMemory Size: 512 MB`, 'm'));
        const noisy = await create({ FunctionName: 'sdk-noisy', Runtime: 'nodejs20.x', Handler: 'index.handler', files: { 'index.mjs': `export const handler = async () => { for (let i = 0; i < 500; i++) console.log('line ' + i + ' ' + 'x'.repeat(40)); return 'done'; };\n` } });
        assert.ok(noisy.output);
        const big = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-noisy', LogType: 'Tail' }));
        const bigTail = Buffer.from(big.LogResult, 'base64');
        assert.ok(bigTail.length <= 4096, `tail is ${bigTail.length} bytes`);
        assert.match(bigTail.toString(), /line 499 x+\nEND RequestId/);
        assert.doesNotMatch(bigTail.toString(), /line 0 /);
    });
    test('handler errors: 200 with X-Amz-Function-Error and Lambda\'s error body (Node.js and Python)', async () => {
        await create({ FunctionName: 'sdk-throws', Runtime: 'nodejs20.x', Handler: 'index.handler', files: { 'index.mjs': `export const handler = async () => { throw new TypeError('bad thing'); };\n` } });
        const node = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-throws' }));
        assert.equal(node.StatusCode, 200);
        assert.equal(node.FunctionError, 'Unhandled');
        const nodeBody = payloadOf(node);
        assert.equal(nodeBody.errorType, 'TypeError');
        assert.equal(nodeBody.errorMessage, 'bad thing');
        assert.ok(Array.isArray(nodeBody.trace) && nodeBody.trace[0].startsWith('TypeError: bad thing'));
        await create({ FunctionName: 'sdk-py-raises', Runtime: 'python3.11', Handler: 'app.handler', files: { 'app.py': 'def handler(event, context):\n    raise ValueError("nope")\n' } });
        const py = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-py-raises' }));
        assert.equal(py.FunctionError, 'Unhandled');
        const pyBody = payloadOf(py);
        assert.equal(pyBody.errorType, 'ValueError');
        assert.equal(pyBody.errorMessage, 'nope');
        assert.equal(pyBody.requestId, py.$metadata.requestId);
        assert.ok(Array.isArray(pyBody.stackTrace));
    });
    test('DryRun: 204 and nothing runs', async () => {
        const before = await metric(h.url, 'hearth_invocations_total', { function: 'sdk-echo' });
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo', InvocationType: 'DryRun' }));
        assert.equal(result.StatusCode, 204);
        assert.equal(await metric(h.url, 'hearth_invocations_total', { function: 'sdk-echo' }), before);
        const missing = await sdkError(lambda.send(new InvokeCommand({ FunctionName: 'sdk-nothing', InvocationType: 'DryRun' })));
        assert.equal(missing.name, 'ResourceNotFoundException');
    });
    test('Event: 202 at once, the event runs from the durable queue, metrics count it', async () => {
        await create({ FunctionName: 'sdk-async', Runtime: 'nodejs20.x', Handler: 'index.handler', files: { 'index.mjs': `export const handler = async (event, context) => { console.log('async-done', event.marker, context.awsRequestId); return null; };\n` } });
        const marker = crypto.randomUUID();
        const accepted = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-async', InvocationType: 'Event', Payload: JSON.stringify({ marker }) }));
        assert.equal(accepted.StatusCode, 202);
        assert.equal(Buffer.from(accepted.Payload ?? new Uint8Array()).length, 0);
        const requestId = accepted.$metadata.requestId;
        const line = await waitFor('the async event to run', async () => (await h.hearth.logs.tail('sdk-async', 50)).find((l) => l.includes(`async-done ${marker}`)));
        assert.ok(line.endsWith(`async-done ${marker} ${requestId}`), `the invocation ran with the request id returned at acceptance: ${line}`);
        await waitFor('the succeeded metric', async () => (await metric(h.url, 'hearth_lambda_async_events_total', { function: 'sdk-async', outcome: 'succeeded' })) === 1);
        assert.equal(await metric(h.url, 'hearth_lambda_async_events_total', { function: 'sdk-async', outcome: 'queued' }), 1);
    });
    test('Event: a failing event is retried twice (configured delays), then discarded', async () => {
        await create({ FunctionName: 'sdk-async-fails', Runtime: 'nodejs20.x', Handler: 'index.handler', files: { 'index.mjs': `export const handler = async (event) => { console.log('attempt', event.marker); throw new Error('always fails'); };\n` } });
        const marker = crypto.randomUUID();
        const accepted = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-async-fails', InvocationType: 'Event', Payload: JSON.stringify({ marker }) }));
        assert.equal(accepted.StatusCode, 202);
        await waitFor('the event to fail for good', async () => (await metric(h.url, 'hearth_lambda_async_events_total', { function: 'sdk-async-fails', outcome: 'failed' })) === 1);
        assert.equal(await metric(h.url, 'hearth_lambda_async_events_total', { function: 'sdk-async-fails', outcome: 'retried' }), 2);
        assert.equal(await metric(h.url, 'hearth_invocations_total', { function: 'sdk-async-fails', outcome: 'error' }), 3, 'one attempt and two retries');
        const lines = await h.hearth.logs.tail('sdk-async-fails', 100);
        assert.equal(lines.filter((l) => l.endsWith(`attempt ${marker}`)).length, 3);
        assert.ok(lines.some((l) => /ASYNC attempt 3 failed \(Error: always fails\); no retries left/.test(l)));
        assert.equal(await metric(h.url, 'hearth_lambda_async_events_pending', {}), 0);
    });
    test('a function at its concurrency limit: TooManyRequestsException 429', async () => {
        // Concurrency is a hearth manifest field (the Lambda API has no per-function concurrency call here): deploy natively.
        await deployOk(h.url, writeFunction({ name: 'sdk-single', runtime: 'nodejs20', handler: 'index.handler', concurrency: 1 }, { 'index.mjs': `export const handler = async (e) => { console.log('busy', e.n); await new Promise((r) => setTimeout(r, e.ms)); return e.n; };\n` }));
        const first = lambda.send(new InvokeCommand({ FunctionName: 'sdk-single', Payload: JSON.stringify({ n: 1, ms: 3000 }) }));
        await waitFor('the first call to run', async () => (await h.hearth.logs.tail('sdk-single', 10)).some((l) => l.endsWith('busy 1')));
        const throttled = await sdkError(lambda.send(new InvokeCommand({ FunctionName: 'sdk-single', Payload: JSON.stringify({ n: 2, ms: 0 }) })));
        assert.equal(throttled.name, 'TooManyRequestsException');
        assert.equal(throttled.$metadata.httpStatusCode, 429);
        assert.equal(throttled.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
        assert.equal(payloadOf(await first), 1);
    });
});
describe('handler contract: unmodified handlers from AWS documentation', () => {
    test('Node.js callback-style handler', async () => {
        await create({
            FunctionName: 'doc-callback',
            Runtime: 'nodejs20.x',
            Handler: 'index.handler',
            files: {
                'index.js': `exports.handler = function(event, context, callback) {
  console.log('Received event:', JSON.stringify(event, null, 2));
  callback(null, { statusCode: 200, body: 'Hello ' + event.name });
};
`,
            },
        });
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'doc-callback', Payload: JSON.stringify({ name: 'Lambda' }) }));
        assert.equal(result.FunctionError, undefined);
        assert.deepEqual(payloadOf(result), { statusCode: 200, body: 'Hello Lambda' });
    });
    test('Node.js context: getRemainingTimeInMillis, functionName, logStreamName', async () => {
        await create({
            FunctionName: 'doc-context',
            Runtime: 'nodejs20.x',
            Handler: 'index.handler',
            Timeout: 7,
            files: {
                'index.js': `exports.handler = async function(event, context) {
  console.log('Remaining time: ', context.getRemainingTimeInMillis())
  console.log('Function name: ', context.functionName)
  return context.logStreamName
}
`,
            },
        });
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'doc-context', LogType: 'Tail' }));
        assert.equal(typeof payloadOf(result), 'string');
        const tail = tailOf(result);
        const remaining = Number(/Remaining time:\s+(\d+)/.exec(tail)?.[1]);
        assert.ok(remaining > 0 && remaining <= 7000, `remaining ${remaining}`);
        assert.match(tail, /Function name:\s+doc-context/);
    });
    test('Node.js handler returning a plain string: the payload is the JSON string', async () => {
        await create({ FunctionName: 'doc-string', Runtime: 'nodejs20.x', Handler: 'index.handler', files: { 'index.mjs': `export const handler = async (event) => {\n  return 'Hello from Lambda!';\n};\n` } });
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'doc-string' }));
        assert.equal(Buffer.from(result.Payload).toString(), '"Hello from Lambda!"');
    });
    test('Python context: aws_request_id, function_name, memory_limit_in_mb, get_remaining_time_in_millis', async () => {
        await create({
            FunctionName: 'doc-py-context',
            Runtime: 'python3.11',
            Handler: 'lambda_function.lambda_handler',
            files: {
                'lambda_function.py': `import time

def lambda_handler(event, context):
    print("Lambda function ARN:", context.invoked_function_arn)
    print("CloudWatch log stream name:", context.log_stream_name)
    print("CloudWatch log group name:",  context.log_group_name)
    print("Lambda Request ID:", context.aws_request_id)
    print("Lambda function memory limits in MB:", context.memory_limit_in_mb)
    # We have added a 1 second delay so you can see the time remaining in get_remaining_time_in_millis.
    time.sleep(1)
    print("Lambda time remaining in MS:", context.get_remaining_time_in_millis())
`,
            },
        });
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'doc-py-context', LogType: 'Tail' }));
        assert.equal(result.FunctionError, undefined);
        assert.equal(payloadOf(result), null, 'a handler returning None gives null');
        const tail = tailOf(result);
        assert.match(tail, new RegExp(`Lambda Request ID: ${result.$metadata.requestId}`));
        assert.match(tail, /CloudWatch log group name: \/aws\/lambda\/doc-py-context/);
        assert.match(tail, /Lambda function memory limits in MB: 128/);
        const remaining = Number(/Lambda time remaining in MS: (\d+)/.exec(tail)?.[1]);
        assert.ok(remaining > 0 && remaining <= 2000, `remaining ${remaining} of a 3 s timeout after a 1 s sleep`);
    });
    test('Python handler returning an API Gateway-style response with function_name', async () => {
        await create({
            FunctionName: 'doc-py-hello',
            Runtime: 'python3.11',
            Handler: 'lambda_function.lambda_handler',
            files: {
                'lambda_function.py': `import json

def lambda_handler(event, context):
    return {
        'statusCode': 200,
        'body': json.dumps('Hello from ' + context.function_name)
    }
`,
            },
        });
        const result = await lambda.send(new InvokeCommand({ FunctionName: 'doc-py-hello' }));
        assert.deepEqual(payloadOf(result), { statusCode: 200, body: '"Hello from doc-py-hello"' });
    });
});
describe('errors', () => {
    test('unknown function: ResourceNotFoundException 404 with Lambda\'s shape', async () => {
        const get = await sdkError(lambda.send(new GetFunctionCommand({ FunctionName: 'sdk-missing' })));
        assert.equal(get.name, 'ResourceNotFoundException');
        assert.equal(get.$metadata.httpStatusCode, 404);
        assert.equal(get.Type, 'User');
        assert.equal(get.message, `Function not found: arn:aws:lambda:${REGION}:000000000000:function:sdk-missing`);
        const inv = await sdkError(lambda.send(new InvokeCommand({ FunctionName: 'sdk-missing' })));
        assert.equal(inv.name, 'ResourceNotFoundException');
        const qualified = await sdkError(lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo', Qualifier: '7' })));
        assert.equal(qualified.name, 'ResourceNotFoundException', 'hearth has no published versions');
    });
    test('bad zip, bad runtime, unsupported parameter, bad name: InvalidParameterValueException 400', async () => {
        const badZip = await sdkError(lambda.send(new CreateFunctionCommand({ FunctionName: 'sdk-badzip', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: Buffer.from('this is not a zip file') } })));
        assert.equal(badZip.name, 'InvalidParameterValueException');
        assert.equal(badZip.$metadata.httpStatusCode, 400);
        assert.match(badZip.message, /Could not unzip uploaded file/);
        const zip = await zipOf(NODE_ECHO);
        const badRuntime = await sdkError(lambda.send(new CreateFunctionCommand({ FunctionName: 'sdk-java', Runtime: 'java21', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: zip } })));
        assert.equal(badRuntime.name, 'InvalidParameterValueException');
        assert.match(badRuntime.message, /'Runtime' 'java21' is not supported by hearth; supported runtimes: nodejs20\.x, python3\.11/);
        const layers = await sdkError(lambda.send(new CreateFunctionCommand({ FunctionName: 'sdk-layers', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: zip }, Layers: ['arn:aws:lambda:us-east-1:123456789012:layer:x:1'] })));
        assert.equal(layers.name, 'InvalidParameterValueException');
        assert.match(layers.message, /'Layers' is not supported/);
        const noHandlerFile = await sdkError(lambda.send(new CreateFunctionCommand({ FunctionName: 'sdk-nofile', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'main.handler', Code: { ZipFile: zip } })));
        assert.equal(noHandlerFile.name, 'InvalidParameterValueException');
        assert.match(noHandlerFile.message, /handler 'main\.handler'/);
        const badName = await sdkError(lambda.send(new CreateFunctionCommand({ FunctionName: 'bad.name', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: zip } })));
        assert.equal(badName.name, 'InvalidParameterValueException');
        const memory = await sdkError(lambda.send(new CreateFunctionCommand({ FunctionName: 'sdk-mem', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', MemorySize: 64, Code: { ZipFile: zip } })));
        assert.equal(memory.name, 'InvalidParameterValueException');
        assert.match(memory.message, /'MemorySize'/);
        const list = await lambda.send(new ListFunctionsCommand({}));
        assert.ok(!(list.Functions ?? []).some((f) => ['sdk-badzip', 'sdk-java', 'sdk-layers', 'sdk-nofile', 'sdk-mem'].includes(f.FunctionName)), 'nothing was created');
    });
    test('CreateFunction of an existing name: ResourceConflictException 409', async () => {
        const conflict = await sdkError(create({ FunctionName: 'sdk-echo', Runtime: 'nodejs20.x', Handler: 'index.handler', files: NODE_ECHO }));
        assert.equal(conflict.name, 'ResourceConflictException');
        assert.equal(conflict.$metadata.httpStatusCode, 409);
        assert.match(conflict.message, /Function already exist: sdk-echo/);
    });
    test('oversize payloads: RequestTooLargeException 413 (6 MB sync, 256 KB async)', async () => {
        const sync = await sdkError(lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo', Payload: JSON.stringify({ blob: 'x'.repeat(6 * 1024 * 1024) }) })));
        assert.equal(sync.name, 'RequestTooLargeException');
        assert.equal(sync.$metadata.httpStatusCode, 413);
        const async = await sdkError(lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo', InvocationType: 'Event', Payload: JSON.stringify({ blob: 'x'.repeat(256 * 1024) }) })));
        assert.equal(async.name, 'RequestTooLargeException');
        assert.match(async.message, /262144 bytes/);
        const fits = await lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo', Payload: JSON.stringify({ blob: 'x'.repeat(5 * 1024 * 1024) }) }));
        assert.equal(fits.StatusCode, 200);
    });
    test('a payload that is not JSON: InvalidRequestContentException 400', async () => {
        const bad = await sdkError(lambda.send(new InvokeCommand({ FunctionName: 'sdk-echo', Payload: Buffer.from('{not json') })));
        assert.equal(bad.name, 'InvalidRequestContentException');
        assert.equal(bad.$metadata.httpStatusCode, 400);
    });
    test('wrong secret, unknown key, expired signature, tampered body, no signature: 403', async () => {
        const wrongSecret = await sdkError(client({ credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: 'not-the-right-secret-0123456789' } }).send(new ListFunctionsCommand({})));
        assert.equal(wrongSecret.name, 'InvalidSignatureException');
        assert.equal(wrongSecret.$metadata.httpStatusCode, 403);
        const unknownKey = await sdkError(client({ credentials: { accessKeyId: 'AKIDUNKNOWNKEY0000', secretAccessKey: CREDS.secretAccessKey } }).send(new ListFunctionsCommand({})));
        assert.equal(unknownKey.name, 'UnrecognizedClientException');
        assert.equal(unknownKey.$metadata.httpStatusCode, 403);
        const expired = await sdkError(client({ systemClockOffset: -20 * 60 * 1000 }).send(new ListFunctionsCommand({})));
        assert.equal(expired.name, 'InvalidSignatureException');
        assert.match(expired.message, /Signature expired/);
        // The second configured key pair works too.
        const second = await client({ credentials: OTHER_CREDS }).send(new ListFunctionsCommand({ MaxItems: 1 }));
        assert.equal(second.$metadata.httpStatusCode, 200);
        // The signature covers the body: change it after signing.
        const tamper = client();
        tamper.middlewareStack.add((next) => async (args) => {
            const request = args.request;
            request.body = JSON.stringify({ tampered: true });
            return next(args);
        }, { step: 'deserialize', name: 'tamperAfterSigning', priority: 'low' });
        const tampered = await sdkError(tamper.send(new InvokeCommand({ FunctionName: 'sdk-echo', Payload: JSON.stringify({ original: true }) })));
        assert.equal(tampered.name, 'InvalidSignatureException');
        const unsigned = await fetch(`${h.url}/2015-03-31/functions/`);
        assert.equal(unsigned.status, 403);
        assert.equal(unsigned.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
        const body = (await unsigned.json());
        assert.equal(body.Type, 'User');
        assert.match(body.Message, /Missing Authentication Token/);
        const malformed = await fetch(`${h.url}/2015-03-31/functions/`, { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=garbage, SignedHeaders=host, Signature=00' } });
        assert.equal(malformed.status, 400);
        assert.equal(malformed.headers.get('x-amzn-errortype'), 'IncompleteSignatureException');
        assert.match((await malformed.json()).Message, /'Credential' must be/);
        const unknownRoute = await fetch(`${h.url}/2015-03-31/nothing-here`);
        assert.equal(unknownRoute.status, 403);
        assert.equal(unknownRoute.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException', 'authentication comes before routing');
    });
    test('no credentials configured: every Lambda request is refused with instructions', async () => {
        const bare = await startTestHearth({ lambdaCredentials: [] });
        try {
            const refused = await sdkError(client({}, bare.url).send(new ListFunctionsCommand({})));
            assert.equal(refused.name, 'UnrecognizedClientException');
            assert.equal(refused.$metadata.httpStatusCode, 403);
            assert.match(refused.message, /no Lambda credentials are configured.*HEARTH_LAMBDA_CREDENTIALS/);
            assert.equal((await fetch(`${bare.url}/healthz`)).status, 200, 'the native API is unaffected');
        }
        finally {
            await bare.cleanup();
        }
    });
});
describe('durability', () => {
    test('an accepted Event survives a hearth restart and runs afterwards', async () => {
        const dataDir = tempDir('lambda-restart');
        const config = { dataDir, lambdaCredentials: [CREDS], lambdaAsyncRetryDelaysMs: [200, 400] };
        const first = await startTestHearth(config);
        const marker = crypto.randomUUID();
        const c1 = client({}, first.url);
        try {
            await create({
                FunctionName: 'slow-async',
                Runtime: 'nodejs20.x',
                Handler: 'index.handler',
                Timeout: 60,
                files: { 'index.mjs': `export const handler = async (event) => {\n  console.log('started', event.marker);\n  await new Promise((r) => setTimeout(r, 4000));\n  console.log('finished', event.marker);\n  return 'ok';\n};\n` },
            }, c1);
            const accepted = await c1.send(new InvokeCommand({ FunctionName: 'slow-async', InvocationType: 'Event', Payload: JSON.stringify({ marker }) }));
            assert.equal(accepted.StatusCode, 202);
            await waitFor('the event to start', async () => (await first.hearth.logs.tail('slow-async', 20)).some((l) => l.endsWith(`started ${marker}`)));
        }
        finally {
            c1.destroy();
            await first.cleanup();
        }
        const logFile = path.join(dataDir, 'logs', 'slow-async.log');
        assert.doesNotMatch(fs.readFileSync(logFile, 'utf8'), /finished/, 'the first hearth stopped while the event ran');
        const second = await startTestHearth(config);
        try {
            await waitFor('the event to run after the restart', async () => (await second.hearth.logs.tail('slow-async', 50)).some((l) => l.endsWith(`finished ${marker}`)));
            await waitFor('the succeeded metric', async () => (await metric(second.url, 'hearth_lambda_async_events_total', { function: 'slow-async', outcome: 'succeeded' })) === 1);
            assert.equal(await metric(second.url, 'hearth_lambda_async_events_pending', {}), 0);
            const started = (await second.hearth.logs.tail('slow-async', 50)).filter((l) => l.endsWith(`started ${marker}`));
            assert.equal(started.length, 2, 'at-least-once: the interrupted attempt ran again from the start');
        }
        finally {
            await second.cleanup();
        }
    });
});
describe('aws CLI', () => {
    const run = promisify(execFile);
    let cliVersion;
    before(async () => {
        try {
            cliVersion = (await run('aws', ['--version'], { timeout: 30_000 })).stdout.trim() || 'aws';
        }
        catch {
            cliVersion = undefined;
        }
    });
    test('create, invoke and delete with `aws lambda … --endpoint-url`', async (t) => {
        if (!cliVersion) {
            t.skip('the aws CLI is not installed');
            return;
        }
        const dir = tempDir('cli');
        const zipPath = path.join(dir, 'function.zip');
        fs.writeFileSync(zipPath, await zipOf({ 'lambda_function.py': 'def lambda_handler(event, context):\n    print("cli says", event["k"])\n    return {"got": event, "fn": context.function_name}\n' }));
        const env = {
            ...process.env,
            AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
            AWS_DEFAULT_REGION: 'eu-west-1',
            AWS_CONFIG_FILE: path.join(dir, 'none'),
            AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_PAGER: '',
        };
        const aws = async (...args) => (await run('aws', ['lambda', ...args, '--endpoint-url', h.url], { env, encoding: 'utf8', timeout: 60_000 })).stdout;
        const created = JSON.parse(await aws('create-function', '--function-name', 'cli-fn', '--runtime', 'python3.11', '--role', ROLE, '--handler', 'lambda_function.lambda_handler', '--zip-file', `fileb://${zipPath}`));
        assert.equal(created.FunctionArn, 'arn:aws:lambda:eu-west-1:000000000000:function:cli-fn');
        // CLI v2 reads --payload as base64 unless told otherwise; v1 takes it raw.
        const payloadArgs = /aws-cli\/1\./.test(cliVersion) ? ['--payload', '{"k":"v"}'] : ['--cli-binary-format', 'raw-in-base64-out', '--payload', '{"k":"v"}'];
        const outFile = path.join(dir, 'out.json');
        const invoked = JSON.parse(await aws('invoke', '--function-name', 'cli-fn', ...payloadArgs, '--log-type', 'Tail', outFile));
        assert.equal(invoked.StatusCode, 200);
        assert.equal(invoked.ExecutedVersion, '$LATEST');
        assert.match(Buffer.from(invoked.LogResult, 'base64').toString(), /cli says v/);
        assert.deepEqual(JSON.parse(fs.readFileSync(outFile, 'utf8')), { got: { k: 'v' }, fn: 'cli-fn' });
        const listed = JSON.parse(await aws('list-functions'));
        assert.ok(listed.Functions.some((f) => f.FunctionName === 'cli-fn'));
        await aws('delete-function', '--function-name', 'cli-fn');
        await assert.rejects(aws('get-function', '--function-name', 'cli-fn'), /ResourceNotFoundException/);
    });
});
//# sourceMappingURL=lambda-sdk.test.js.map