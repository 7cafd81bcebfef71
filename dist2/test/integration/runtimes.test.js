// The in-instance bootstraps (runtimes/node/bootstrap.mjs, runtimes/python/bootstrap.py)
// spoken to directly over the instance protocol (docs/protocol.md): each test
// spawns a bootstrap with the channel on fd 3 and plays the agent's part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, FrameDecoder } from '../../src/instances/protocol.js';
const REPO = path.resolve(fileURLToPath(import.meta.url), '../../../..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'functions');
const NODE_BOOTSTRAP = path.join(REPO, 'runtimes', 'node', 'bootstrap.mjs');
const PYTHON_BOOTSTRAP = path.join(REPO, 'runtimes', 'python', 'bootstrap.py');
const PYTHON = '/usr/bin/python3';
const SENTINEL = '\u0000HEARTH-END ';
/** Only a safety net so a broken bootstrap fails the test instead of hanging it; nothing asserts durations. */
const SAFETY_MS = 30_000;
const INVOKE_CONTEXT = {
    functionName: 'fixture',
    functionVersion: '7',
    memoryLimitMB: 256,
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:fixture',
    logGroupName: '/aws/lambda/fixture',
    logStreamName: '2026/01/01/[7]test-instance',
};
function command(runtime) {
    return runtime === 'node' ? [process.execPath, [NODE_BOOTSTRAP]] : [PYTHON, ['-X', 'utf8', PYTHON_BOOTSTRAP]];
}
function withTimeout(promise, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), SAFETY_MS);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
/** A bootstrap process and the agent's end of its channel. */
class Bootstrap {
    runtime;
    taskRoot;
    child;
    channel;
    exited;
    stdout = '';
    stderr = '';
    queue = [];
    waiters = [];
    outputWaiters = [];
    constructor(t, runtime, taskRoot, handler, options = {}) {
        this.runtime = runtime;
        this.taskRoot = taskRoot;
        const [binary, args] = command(runtime);
        const stdio = ['ignore', options.stdout ?? 'pipe', options.stderr ?? 'pipe', 'pipe'];
        this.child = spawn(binary, args, {
            cwd: os.tmpdir(),
            stdio,
            env: {
                PATH: '/usr/local/bin:/usr/bin:/bin',
                LANG: 'C.UTF-8',
                TZ: 'UTC',
                HOME: os.tmpdir(),
                PYTHONDONTWRITEBYTECODE: '1', // keep the fixtures directory clean
                HEARTH_CHANNEL_FD: '3',
                HEARTH_HANDLER: handler,
                HEARTH_TASK_ROOT: taskRoot,
                HEARTH_FUNCTION_NAME: 'fixture',
                HEARTH_FUNCTION_VERSION: '7',
                HEARTH_MEMORY_MB: '256',
                HEARTH_TIMEOUT_S: '30',
                AWS_LAMBDA_FUNCTION_NAME: 'fixture',
                AWS_LAMBDA_FUNCTION_VERSION: '7',
                AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
                LAMBDA_TASK_ROOT: taskRoot,
                _HANDLER: handler,
                AWS_REGION: 'local',
                ...options.env,
            },
        });
        t.after(() => {
            if (this.child.exitCode === null && this.child.signalCode === null)
                this.child.kill('SIGKILL');
        });
        this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
        this.channel = this.child.stdio[3];
        this.channel.on('error', () => undefined);
        const decoder = new FrameDecoder();
        this.channel.on('data', (chunk) => {
            for (const message of decoder.push(chunk)) {
                const waiter = this.waiters.shift();
                if (waiter)
                    waiter(message);
                else
                    this.queue.push(message);
            }
        });
        for (const [name, stream] of [['stdout', this.child.stdout], ['stderr', this.child.stderr]]) {
            if (!stream)
                continue;
            stream.setEncoding('utf8');
            stream.on('data', (text) => {
                this[name] += text;
                for (const wake of this.outputWaiters.splice(0))
                    wake();
            });
        }
    }
    /** The next message from the instance. */
    next() {
        const queued = this.queue.shift();
        if (queued)
            return Promise.resolve(queued);
        return withTimeout(new Promise((resolve) => this.waiters.push(resolve)), `a message from the ${this.runtime} bootstrap (stderr: ${this.stderr})`);
    }
    async ready() {
        const message = await this.next();
        assert.equal(message.t, 'ready', `expected ready, got ${JSON.stringify(message)}; stderr: ${this.stderr}`);
        return message;
    }
    send(message) {
        this.channel.write(encodeFrame(message));
    }
    /** Sends an invoke and returns its result. */
    async invoke(event, options = {}) {
        const id = options.id ?? randomUUID();
        this.send({ t: 'invoke', id, event: JSON.stringify(event), deadline: options.deadline ?? Date.now() + 60_000, context: INVOKE_CONTEXT });
        const message = await this.next();
        assert.equal(message.t, 'result', `expected a result, got ${JSON.stringify(message)}`);
        const result = message;
        assert.equal(result.id, id);
        assert.equal(typeof result.execMs, 'number');
        assert.ok(result.execMs >= 0);
        assert.equal(typeof result.startedAt, 'number');
        return result;
    }
    async invokeOk(event, options = {}) {
        const result = await this.invoke(event, options);
        assert.equal(result.ok, true, `expected success, got ${JSON.stringify(result.error)}`);
        assert.equal(typeof result.payload, 'string');
        return JSON.parse(result.payload);
    }
    async invokeError(event) {
        const result = await this.invoke(event);
        assert.equal(result.ok, false, `expected an error, got payload ${result.payload}`);
        assert.equal(result.payload, undefined);
        const error = result.error;
        assert.equal(typeof error.errorType, 'string');
        assert.equal(typeof error.errorMessage, 'string');
        assert.ok(Array.isArray(error.stackTrace), 'stackTrace is an array');
        for (const line of error.stackTrace)
            assert.equal(typeof line, 'string');
        return error;
    }
    /** Resolves once `predicate` holds for the output captured so far. */
    async waitForOutput(predicate, what) {
        const wait = (async () => {
            while (!predicate())
                await new Promise((resolve) => this.outputWaiters.push(resolve));
        })();
        await withTimeout(wait, `${what} (stdout: ${JSON.stringify(this.stdout.slice(-500))}, stderr: ${JSON.stringify(this.stderr.slice(-500))})`);
    }
    waitSentinels(id) {
        return this.waitForOutput(() => this.stdout.includes(`${SENTINEL}${id}\n`) && this.stderr.includes(`${SENTINEL}${id}\n`), `the sentinels of ${id}`);
    }
    async exitStatus() {
        return withTimeout(this.exited, `the ${this.runtime} bootstrap to exit`);
    }
}
/** Starts a bootstrap and expects an init_error followed by exit status 1. */
async function expectInitError(t, runtime, dir, handler, env) {
    const b = new Bootstrap(t, runtime, path.join(FIXTURES, dir), handler, { env });
    const message = await b.next();
    assert.equal(message.t, 'init_error', `expected init_error, got ${JSON.stringify(message)}`);
    const { error } = message;
    assert.equal(typeof error.errorType, 'string');
    assert.equal(typeof error.errorMessage, 'string');
    assert.ok(error.errorMessage.length > 0);
    assert.ok(Array.isArray(error.stackTrace));
    const status = await b.exitStatus();
    assert.deepEqual(status, { code: 1, signal: null });
    return error;
}
// ---------------------------------------------------------------------------
// Behaviour shared by both runtimes: same handler names in node-esm/index.mjs and py-basic/app.py.
const RUNTIMES = [
    { runtime: 'node', dir: 'node-esm', module: 'index', nested: ['src/nested.handler'] },
    { runtime: 'python', dir: 'py-basic', module: 'app', nested: ['pkg/mod.handler', 'pkg.mod.handler'] },
];
for (const { runtime, dir, module, nested } of RUNTIMES) {
    const root = path.join(FIXTURES, dir);
    const start = (t, exportName, options) => new Bootstrap(t, runtime, root, `${module}.${exportName}`, options);
    test(`${runtime}: ready with pid and initMs, then echoes events`, async (t) => {
        const b = start(t, 'echo');
        const ready = await b.ready();
        assert.equal(ready.pid, b.child.pid);
        assert.equal(typeof ready.initMs, 'number');
        assert.ok(Number.isFinite(ready.initMs) && ready.initMs >= 0);
        const event = { name: 'Zoë', nested: { list: [1, 2.5, null, true, 'ünïcødé ✓ 🚀'] }, empty: {} };
        assert.deepEqual(await b.invokeOk(event), event);
        assert.deepEqual(await b.invokeOk('just a string'), 'just a string');
        assert.deepEqual(await b.invokeOk(null), null);
        const result = await b.invoke(7);
        // startedAt is an epoch time in milliseconds (a sanity bound, not a timing assertion).
        assert.ok(Math.abs(result.startedAt - Date.now()) < 10 * 60_000, `startedAt ${result.startedAt} is an epoch time in ms`);
    });
    test(`${runtime}: context fields and remaining time`, async (t) => {
        const b = start(t, 'context_info');
        await b.ready();
        const id = randomUUID();
        const deadline = Date.now() + 60_000;
        const info = (await b.invokeOk({}, { id, deadline }));
        assert.equal(info.awsRequestId, id);
        assert.equal(info.functionName, 'fixture');
        assert.equal(info.functionVersion, '7');
        assert.equal(info.memoryLimitInMB, runtime === 'node' ? '256' : 256);
        assert.equal(info.invokedFunctionArn, INVOKE_CONTEXT.invokedFunctionArn);
        assert.equal(info.logGroupName, INVOKE_CONTEXT.logGroupName);
        assert.equal(info.logStreamName, INVOKE_CONTEXT.logStreamName);
        assert.equal(info.envFunctionName, 'fixture');
        assert.equal(info.cwd, root, 'the handler runs in its task root');
        const remaining = info.remaining;
        assert.ok(Number.isInteger(remaining), `remaining ${remaining} is an integer`);
        assert.ok(remaining > 0 && remaining <= 60_000, `remaining ${remaining} is within the deadline`);
        if (runtime === 'node') {
            assert.equal(info.callbackWaitsForEmptyEventLoop, true);
        }
        else {
            assert.equal(info.clientContext, null);
            assert.equal(info.identity, null);
            assert.equal(info.bootstrapOnPath, false, "the bootstrap's directory is not on sys.path");
        }
        // A deadline in the past: no time left, never negative.
        const late = (await b.invokeOk({}, { deadline: Date.now() - 5_000 }));
        assert.equal(late.remaining, 0);
    });
    test(`${runtime}: a throwing handler returns Lambda's error shape and the instance stays usable`, async (t) => {
        const b = start(t, 'fail');
        await b.ready();
        const error = await b.invokeError({ value: 'x' });
        if (runtime === 'node') {
            assert.equal(error.errorType, 'TypeError');
            assert.match(error.errorMessage, /missing/);
            assert.match(error.stackTrace[0], /^TypeError: /);
            assert.ok(error.stackTrace.some((line) => line.includes('index.mjs')), 'the stack names the handler file');
        }
        else {
            assert.equal(error.errorType, 'FixtureError');
            assert.equal(error.errorMessage, 'cannot handle x');
            assert.equal(error.stackTrace.length, 2, `handler and _inner frames only: ${JSON.stringify(error.stackTrace)}`);
            assert.match(error.stackTrace[0], /^ {2}File ".*app\.py", line \d+, in fail\n/);
            assert.match(error.stackTrace[1], /in _inner\n\s+raise FixtureError/);
            assert.ok(!error.stackTrace.some((line) => line.includes('bootstrap.py')), 'no bootstrap frames');
        }
        // Same process, next invocation: it fails the same way, the process did not die.
        const again = await b.invokeError({ value: 'y' });
        assert.equal(again.errorType, error.errorType);
        assert.equal(b.child.exitCode, null);
    });
    test(`${runtime}: returning ${runtime === 'node' ? 'undefined' : 'None'} gives null`, async (t) => {
        const b = start(t, 'nothing');
        await b.ready();
        const result = await b.invoke({});
        assert.equal(result.ok, true);
        assert.equal(result.payload, 'null');
    });
    test(`${runtime}: a result that cannot be serialised is a Runtime.SerializationError`, async (t) => {
        const b = start(t, 'unserialisable');
        await b.ready();
        const error = await b.invokeError({});
        assert.equal(error.errorType, 'Runtime.SerializationError');
        assert.match(error.errorMessage, runtime === 'node' ? /circular/i : /set/);
        // The instance keeps serving.
        const second = await b.invokeError({});
        assert.equal(second.errorType, 'Runtime.SerializationError');
    });
    test(`${runtime}: a result above the 32 MiB frame limit is a Function.ResponseSizeTooLarge error`, async (t) => {
        const b = start(t, 'too_big');
        await b.ready();
        const error = await b.invokeError({});
        assert.equal(error.errorType, 'Function.ResponseSizeTooLarge');
        assert.equal(b.child.exitCode, null, 'the instance keeps serving');
    });
    test(`${runtime}: module init runs once, state persists across sequential invocations`, async (t) => {
        const b = start(t, 'counter');
        await b.ready();
        for (let calls = 1; calls <= 5; calls++) {
            assert.deepEqual(await b.invokeOk({ calls }), { inits: 1, calls });
        }
        const initLine = `${dir} init`;
        await b.waitForOutput(() => b.stdout.includes(initLine), 'the init output');
        assert.equal(b.stdout.split(initLine).length - 1, 1, 'init ran once');
    });
    test(`${runtime}: a ~5 MB event and result round-trip`, async (t) => {
        const b = start(t, 'echo');
        await b.ready();
        const event = { data: 'x'.repeat(5 * 1024 * 1024), tail: 'é'.repeat(1000), list: Array.from({ length: 10_000 }, (_, i) => i) };
        const echoed = (await b.invokeOk(event));
        assert.equal(echoed.data.length, event.data.length);
        assert.deepEqual(echoed, event);
        // And the channel is still in sync afterwards.
        assert.deepEqual(await b.invokeOk({ small: true }), { small: true });
    });
    test(`${runtime}: handler paths with directories`, async (t) => {
        for (const handler of nested) {
            const b = new Bootstrap(t, runtime, root, handler);
            await b.ready();
            const out = (await b.invokeOk({ n: 1 }));
            assert.equal(out.nested, true);
            assert.deepEqual(out.got, { n: 1 });
            if (runtime === 'python')
                assert.equal(out.module, 'pkg.mod');
        }
    });
    test(`${runtime}: stdout/stderr end with the sentinel, in order, across invocations`, async (t) => {
        const b = start(t, 'logs');
        await b.ready();
        const ids = [];
        for (const tag of ['a', 'b', 'c']) {
            const id = randomUUID();
            ids.push(id);
            assert.equal(await b.invokeOk({ tag }, { id }), tag);
            await b.waitSentinels(id);
        }
        ['a', 'b', 'c'].forEach((tag, i) => {
            const id = ids[i];
            const outSentinel = b.stdout.indexOf(`${SENTINEL}${id}\n`);
            const errSentinel = b.stderr.indexOf(`${SENTINEL}${id}\n`);
            // The invocation's own output comes before its sentinel...
            assert.ok(b.stdout.indexOf(`out:${tag}\n`) < outSentinel);
            assert.ok(b.stdout.indexOf(`partial:${tag}${SENTINEL}${id}\n`) !== -1, 'an unterminated line is directly followed by the sentinel');
            assert.ok(b.stderr.indexOf(`err:${tag}\n`) !== -1 && b.stderr.indexOf(`err:${tag}\n`) < errSentinel);
            // ...and the next invocation's output after it.
            const nextTag = ['a', 'b', 'c'][i + 1];
            if (nextTag) {
                assert.ok(b.stdout.indexOf(`out:${nextTag}\n`) > outSentinel);
                assert.ok(b.stderr.indexOf(`err:${nextTag}\n`) > errSentinel);
            }
        });
        // Each sentinel appears exactly once per stream.
        for (const id of ids) {
            assert.equal(b.stdout.split(`${SENTINEL}${id}\n`).length, 2);
            assert.equal(b.stderr.split(`${SENTINEL}${id}\n`).length, 2);
        }
    });
    test(`${runtime}: the sentinels are written before the result frame`, async (t) => {
        // With files as stdout/stderr the check is exact: when the result frame
        // arrives, both sentinels must already be in the files.
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-runtimes-'));
        t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
        const outFile = path.join(tmp, 'stdout');
        const errFile = path.join(tmp, 'stderr');
        const outFd = fs.openSync(outFile, 'w');
        const errFd = fs.openSync(errFile, 'w');
        let b;
        try {
            b = start(t, 'logs', { stdout: outFd, stderr: errFd });
        }
        finally {
            fs.closeSync(outFd);
            fs.closeSync(errFd);
        }
        await b.ready();
        for (const tag of ['first', 'second']) {
            const id = randomUUID();
            assert.equal(await b.invokeOk({ tag }, { id }), tag);
            const out = fs.readFileSync(outFile, 'utf8');
            const err = fs.readFileSync(errFile, 'utf8');
            assert.ok(out.endsWith(`out:${tag}\npartial:${tag}${SENTINEL}${id}\n`), `stdout ends with the output and sentinel: ${JSON.stringify(out)}`);
            assert.ok(err.endsWith(`err:${tag}\n${SENTINEL}${id}\n`), `stderr ends with the output and sentinel: ${JSON.stringify(err)}`);
        }
    });
    test(`${runtime}: output larger than the pipe buffer is flushed before the sentinel`, async (t) => {
        const b = start(t, 'big_output');
        await b.ready();
        const bytes = 2 * 1024 * 1024;
        const id = randomUUID();
        assert.equal(await b.invokeOk({ bytes }, { id }), bytes);
        await b.waitSentinels(id);
        assert.ok(b.stdout.endsWith(`${'o'.repeat(bytes)}\n${SENTINEL}${id}\n`), 'all output precedes the sentinel');
    });
    test(`${runtime}: init errors: missing file, missing export, not a function`, async (t) => {
        const missingFile = await expectInitError(t, runtime, dir, 'nope.handler');
        assert.equal(missingFile.errorType, 'Runtime.ImportModuleError');
        assert.match(missingFile.errorMessage, /nope/);
        const missingExport = await expectInitError(t, runtime, dir, `${module}.no_such_export`);
        assert.equal(missingExport.errorType, 'Runtime.HandlerNotFound');
        assert.match(missingExport.errorMessage, /no_such_export/);
        const notAFunction = await expectInitError(t, runtime, dir, `${module}.${runtime === 'node' ? 'notAFunction' : 'not_a_function'}`);
        assert.equal(notAFunction.errorType, 'Runtime.HandlerNotFound');
        const malformed = await expectInitError(t, runtime, dir, 'nodot');
        assert.equal(malformed.errorType, 'Runtime.MalformedHandlerName');
    });
    test(`${runtime}: init errors: syntax error, exception at init, missing dependency`, async (t) => {
        const prefix = runtime === 'node' ? 'node' : 'py';
        const handler = runtime === 'node' ? 'index.handler' : 'app.handler';
        const syntax = await expectInitError(t, runtime, `${prefix}-syntax`, handler);
        assert.equal(syntax.errorType, 'Runtime.UserCodeSyntaxError');
        assert.match(syntax.errorMessage, runtime === 'node' ? /^SyntaxError: .*index\.mjs:2\)$/ : /^Syntax error in module 'app'.*line 1/);
        assert.ok(syntax.stackTrace.some((line) => line.includes(runtime === 'node' ? 'index.mjs' : 'app.py')), 'the trace names the file');
        const thrown = await expectInitError(t, runtime, `${prefix}-init-throw`, handler);
        assert.equal(thrown.errorType, runtime === 'node' ? 'RangeError' : 'LookupError');
        assert.equal(thrown.errorMessage, 'FIXTURE_CONFIG is not set');
        assert.ok(thrown.stackTrace.some((line) => line.includes(runtime === 'node' ? 'index.mjs' : 'app.py')));
        // The same module loads when its init succeeds.
        const ok = new Bootstrap(t, runtime, path.join(FIXTURES, `${prefix}-init-throw`), handler, { env: { FIXTURE_CONFIG: 'configured' } });
        await ok.ready();
        assert.equal(await ok.invokeOk({}), 'configured');
        const dependency = await expectInitError(t, runtime, `${prefix}-missing-dep`, handler);
        assert.equal(dependency.errorType, 'Runtime.ImportModuleError');
        assert.match(dependency.errorMessage, /hearth.fixture.no.such/);
    });
    test(`${runtime}: closing the channel makes the instance exit 0`, async (t) => {
        const b = start(t, 'echo');
        await b.ready();
        await b.invokeOk({ before: 'close' });
        b.channel.end();
        assert.deepEqual(await b.exitStatus(), { code: 0, signal: null });
    });
    test(`${runtime}: a frame above 32 MiB is a protocol error (exit 1)`, async (t) => {
        const b = start(t, 'echo');
        await b.ready();
        const header = Buffer.alloc(4);
        header.writeUInt32BE(32 * 1024 * 1024 + 1, 0);
        b.channel.write(header);
        assert.deepEqual(await b.exitStatus(), { code: 1, signal: null });
        await b.waitForOutput(() => b.stderr.includes('protocol error'), 'the protocol error on stderr');
    });
    test(`${runtime}: an event that is not JSON text is a Runtime.InvalidEvent error`, async (t) => {
        const b = start(t, 'echo');
        await b.ready();
        const id = randomUUID();
        b.send({ t: 'invoke', id, event: '{not json', deadline: Date.now() + 60_000, context: INVOKE_CONTEXT });
        const result = (await b.next());
        assert.equal(result.id, id);
        assert.equal(result.ok, false);
        assert.equal(result.error.errorType, 'Runtime.InvalidEvent');
        assert.deepEqual(await b.invokeOk([1]), [1]);
    });
    test(`${runtime}: an invoke split across many small writes`, async (t) => {
        const b = start(t, 'echo');
        await b.ready();
        // One invoke delivered a byte at a time.
        const id = randomUUID();
        const frame = encodeFrame({ t: 'invoke', id, event: JSON.stringify({ split: true }), deadline: Date.now() + 60_000, context: INVOKE_CONTEXT });
        for (let i = 0; i < frame.length; i += 7) {
            b.channel.write(frame.subarray(i, i + 7));
            await new Promise((resolve) => setImmediate(resolve));
        }
        const result = (await b.next());
        assert.equal(result.id, id);
        assert.equal(result.payload !== undefined && JSON.parse(result.payload).split, true);
    });
}
// ---------------------------------------------------------------------------
// Node.js only
const NODE_ESM = path.join(FIXTURES, 'node-esm');
const NODE_CJS = path.join(FIXTURES, 'node-cjs');
test('node: sync return values, async handlers, rejected promises and non-Error throws', async (t) => {
    const sync = new Bootstrap(t, 'node', NODE_ESM, 'index.sync_value');
    await sync.ready();
    assert.deepEqual(await sync.invokeOk({ name: 'n' }), { sync: true, name: 'n' });
    const later = new Bootstrap(t, 'node', NODE_ESM, 'index.async_later');
    await later.ready();
    assert.deepEqual(await later.invokeOk({ n: 21 }), { later: 42 });
    const rejects = new Bootstrap(t, 'node', NODE_ESM, 'index.async_reject');
    await rejects.ready();
    const rejected = await rejects.invokeError({});
    assert.equal(rejected.errorType, 'RangeError');
    assert.equal(rejected.errorMessage, 'out of range');
    assert.match(rejected.stackTrace[0], /^RangeError: out of range/);
    const str = new Bootstrap(t, 'node', NODE_ESM, 'index.throw_string');
    await str.ready();
    assert.deepEqual(await str.invokeError({}), { errorType: 'string', errorMessage: 'plain string', stackTrace: [] });
    const undef = new Bootstrap(t, 'node', NODE_ESM, 'index.reject_undefined');
    await undef.ready();
    assert.deepEqual(await undef.invokeError({}), { errorType: 'undefined', errorMessage: 'undefined', stackTrace: [] });
    const bigint = new Bootstrap(t, 'node', NODE_ESM, 'index.bigint_result');
    await bigint.ready();
    const serialisation = await bigint.invokeError({});
    assert.equal(serialisation.errorType, 'Runtime.SerializationError');
    assert.match(serialisation.errorMessage, /BigInt/);
    const fn = new Bootstrap(t, 'node', NODE_ESM, 'index.returns_function');
    await fn.ready();
    const result = await fn.invoke({});
    assert.equal(result.ok, true);
    assert.equal(result.payload, 'null', 'JSON.stringify of a function is undefined: null');
});
test('node: callback-style CommonJS handlers', async (t) => {
    const cb = new Bootstrap(t, 'node', NODE_CJS, 'index.callback');
    await cb.ready();
    assert.deepEqual(await cb.invokeOk({ name: 'a' }), { style: 'callback', calls: 1, name: 'a' });
    assert.deepEqual(await cb.invokeOk({ name: 'b' }), { style: 'callback', calls: 2, name: 'b' });
    const cbError = new Bootstrap(t, 'node', NODE_CJS, 'index.callback_error');
    await cbError.ready();
    const error = await cbError.invokeError({});
    assert.equal(error.errorType, 'SyntaxError');
    assert.equal(error.errorMessage, 'bad input');
    const cbString = new Bootstrap(t, 'node', NODE_CJS, 'index.callback_string_error');
    await cbString.ready();
    assert.deepEqual(await cbString.invokeError({}), { errorType: 'string', errorMessage: 'just a string', stackTrace: [] });
    const first = new Bootstrap(t, 'node', NODE_CJS, 'index.first_completion_wins');
    await first.ready();
    assert.equal(await first.invokeOk({}), 'first');
    assert.equal(await first.invokeOk({}), 'first', 'the late completions of the first call did not leak into the second');
    // As in Lambda: a deferred callback result (waiting for the empty event loop) is overridden by context.done.
    const overridden = new Bootstrap(t, 'node', NODE_CJS, 'index.done_overrides_deferred_callback');
    await overridden.ready();
    assert.equal(await overridden.invokeOk({}), 'immediate');
    const asyncCb = new Bootstrap(t, 'node', NODE_CJS, 'index.async_with_callback');
    await asyncCb.ready();
    assert.equal(await asyncCb.invokeOk({}), 'from the promise');
    const never = new Bootstrap(t, 'node', NODE_CJS, 'index.never_calls_back');
    await never.ready();
    const nullResult = await never.invoke({});
    assert.equal(nullResult.ok, true);
    assert.equal(nullResult.payload, 'null', 'an empty event loop without a callback gives null, as in Lambda');
    assert.equal((await never.invoke({})).payload, 'null');
});
test('node: callbackWaitsForEmptyEventLoop', async (t) => {
    const waits = new Bootstrap(t, 'node', NODE_CJS, 'index.callback_waits');
    await waits.ready();
    const id = randomUUID();
    assert.equal(await waits.invokeOk({}, { id }), 'waited');
    await waits.waitSentinels(id);
    const fired = waits.stdout.indexOf('timer fired\n');
    assert.ok(fired !== -1 && fired < waits.stdout.indexOf(`${SENTINEL}${id}`), 'the pending timer ran before the invocation ended');
    // With the flag off, the result does not wait for the 10-minute timer (else the safety net fails the test).
    const noWait = new Bootstrap(t, 'node', NODE_CJS, 'index.callback_no_wait');
    await noWait.ready();
    assert.equal(await noWait.invokeOk({}), 'immediate');
    assert.equal(await noWait.invokeOk({}), 'immediate');
});
test('node: context.succeed / fail / done', async (t) => {
    const succeed = new Bootstrap(t, 'node', NODE_CJS, 'index.succeed');
    await succeed.ready();
    assert.deepEqual(await succeed.invokeOk({}), { via: 'succeed' });
    const succeed3 = new Bootstrap(t, 'node', NODE_CJS, 'index.succeed3');
    await succeed3.ready();
    assert.deepEqual(await succeed3.invokeOk({}), { via: 'succeed' });
    const fail = new Bootstrap(t, 'node', NODE_CJS, 'index.fail3');
    await fail.ready();
    const error = await fail.invokeError({});
    assert.equal(error.errorType, 'TypeError');
    assert.equal(error.errorMessage, 'failed via context');
    const failNoArg = new Bootstrap(t, 'node', NODE_CJS, 'index.fail_no_arg');
    await failNoArg.ready();
    assert.deepEqual(await failNoArg.invokeError({}), { errorType: 'string', errorMessage: 'handled', stackTrace: [] });
    const done = new Bootstrap(t, 'node', NODE_CJS, 'index.done3');
    await done.ready();
    assert.deepEqual(await done.invokeOk({}), { via: 'done' });
});
test('node: a syntax error in CommonJS code names the file and line', async (t) => {
    const error = await expectInitError(t, 'node', 'node-cjs-syntax', 'index.handler');
    assert.equal(error.errorType, 'Runtime.UserCodeSyntaxError');
    assert.match(error.errorMessage, /^SyntaxError: .*index\.cjs:3\)$/);
});
test('node: module formats: .cjs with computed exports, ESM .js under "type": "module"', async (t) => {
    const opaque = new Bootstrap(t, 'node', path.join(FIXTURES, 'node-cjs-opaque'), 'handler.handler');
    await opaque.ready();
    assert.deepEqual(await opaque.invokeOk({ x: 1 }), { opaque: true, event: { x: 1 } });
    const esmJs = new Bootstrap(t, 'node', path.join(FIXTURES, 'node-esm-js'), 'index.handler');
    await esmJs.ready();
    assert.deepEqual(await esmJs.invokeOk({}), { esm: true, url: true });
});
test('node: an unhandled rejection during an invocation is its error, then the process exits', async (t) => {
    const b = new Bootstrap(t, 'node', NODE_ESM, 'index.unhandled_rejection');
    await b.ready();
    const error = await b.invokeError({});
    assert.equal(error.errorType, 'Runtime.UnhandledPromiseRejection');
    assert.equal(error.errorMessage, 'Error: nobody handles me');
    assert.ok(error.stackTrace.length > 0);
    assert.deepEqual(await b.exitStatus(), { code: 1, signal: null });
});
test('node: an uncaught exception during an invocation is its error, then the process exits', async (t) => {
    const b = new Bootstrap(t, 'node', NODE_ESM, 'index.uncaught_in_timer');
    await b.ready();
    const id = randomUUID();
    const result = await b.invoke({}, { id });
    assert.equal(result.ok, false);
    assert.equal(result.error.errorType, 'EvalError');
    assert.equal(result.error.errorMessage, 'thrown from a timer');
    assert.deepEqual(await b.exitStatus(), { code: 1, signal: null });
    await b.waitSentinels(id);
});
test('node: an error escaping init asynchronously is an init error', async (t) => {
    const error = await expectInitError(t, 'node', 'node-init-async-throw', 'index.handler');
    assert.equal(error.errorType, 'URIError');
    assert.equal(error.errorMessage, 'thrown by a timer during init');
});
test('node: an uncaught exception between invocations ends the process with status 1', async (t) => {
    const b = new Bootstrap(t, 'node', NODE_ESM, 'index.throws_after_result');
    await b.ready();
    assert.equal(await b.invokeOk({}), 'done');
    assert.deepEqual(await b.exitStatus(), { code: 1, signal: null });
    await b.waitForOutput(() => b.stderr.includes('uncaught exception outside an invocation') && b.stderr.includes('thrown after the result'), 'the error on stderr');
});
// ---------------------------------------------------------------------------
// Python only
const PY_BASIC = path.join(FIXTURES, 'py-basic');
test('python: NaN is not JSON: Runtime.SerializationError', async (t) => {
    const b = new Bootstrap(t, 'python', PY_BASIC, 'app.nan');
    await b.ready();
    const error = await b.invokeError({});
    assert.equal(error.errorType, 'Runtime.SerializationError');
});
test('python: handler modules may not shadow modules the runtime uses', async (t) => {
    const builtin = await expectInitError(t, 'python', 'py-basic', 'sys.handler');
    assert.equal(builtin.errorType, 'Runtime.BuiltInModuleConflict');
    const stdlib = await expectInitError(t, 'python', 'py-basic', 'json.handler');
    assert.equal(stdlib.errorType, 'Runtime.BuiltInModuleConflict');
});
test('python: sys.exit in a handler ends the process with its status', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-py-exit-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'app.py'), 'import sys, threading, time\nthreading.Thread(target=time.sleep, args=(600,)).start()\n\ndef handler(event, context):\n    sys.exit(3)\n');
    const b = new Bootstrap(t, 'python', dir, 'app.handler');
    await b.ready();
    b.send({ t: 'invoke', id: randomUUID(), event: '{}', deadline: Date.now() + 60_000, context: INVOKE_CONTEXT });
    // A non-daemon thread of the function does not keep the process alive.
    assert.deepEqual(await b.exitStatus(), { code: 3, signal: null });
});
// ---------------------------------------------------------------------------
// The examples under examples/, loaded the way their manifests say.
function startExample(t, name) {
    const dir = path.join(REPO, 'examples', name);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'hearth.json'), 'utf8'));
    assert.equal(manifest.name, name);
    assert.ok(manifest.runtime === 'nodejs20' || manifest.runtime === 'python3.11', `runtime ${manifest.runtime}`);
    return new Bootstrap(t, manifest.runtime === 'nodejs20' ? 'node' : 'python', dir, manifest.handler);
}
test('examples: hello-node, hello-node-cjs, hello-python greet by name', async (t) => {
    for (const name of ['hello-node', 'hello-node-cjs', 'hello-python']) {
        const b = startExample(t, name);
        await b.ready();
        const id = randomUUID();
        const out = (await b.invokeOk({ name: 'you' }, { id }));
        assert.equal(out.message, 'Hello, you!', name);
        assert.equal(out.requestId, id, name);
        const anonymous = (await b.invokeOk({}));
        assert.equal(anonymous.message, 'Hello, world!', name);
        if (name === 'hello-node-cjs')
            assert.equal(anonymous.invocationsOfThisInstance, 2);
    }
});
test('examples: render-node renders with handlebars', async (t) => {
    if (!fs.existsSync(path.join(REPO, 'examples', 'render-node', 'node_modules', 'handlebars'))) {
        t.skip('examples/render-node/node_modules is missing: run npm --prefix examples/render-node install --omit=dev (scripts/setup.sh does)');
        return;
    }
    const b = startExample(t, 'render-node');
    await b.ready();
    const id = randomUUID();
    const out = (await b.invokeOk({ name: '<you>', title: 'Invoice', items: [{ name: 'tea', cents: 350 }, { name: 'cake', cents: 425 }] }, { id }));
    assert.equal(out.statusCode, 200);
    assert.match(out.body, /<h1>INVOICE<\/h1>/);
    assert.match(out.body, /Hello, &lt;you&gt;!/, 'handlebars escapes the name');
    assert.match(out.body, /<td>1<\/td><td>cake<\/td><td>4\.25 €<\/td>/);
    assert.match(out.body, /total<\/td><td>7\.75 €/);
    assert.ok(out.body.includes(`request ${id}`));
});
test('examples: numpy-python fits a cubic', async (t) => {
    const probe = spawnSyncPython(['-c', 'import numpy']);
    if (probe !== 0) {
        t.skip('numpy is not importable by /usr/bin/python3: apt-get install python3-numpy (scripts/setup.sh does)');
        return;
    }
    const b = startExample(t, 'numpy-python');
    await b.ready();
    const out = (await b.invokeOk({ coefficients: [1, 2, 3, 4] }));
    out.coefficients.forEach((c, i) => assert.ok(Math.abs(c - [1, 2, 3, 4][i]) < 1e-6, `coefficient ${i}: ${c}`));
    assert.ok(out.residual < 1e-6);
    const x = Array.from({ length: 64 }, (_, i) => i / 63);
    const fromSamples = (await b.invokeOk({ y: x.map((v) => 5 - v * v) }));
    fromSamples.coefficients.forEach((c, i) => assert.ok(Math.abs(c - [5, 0, -1, 0][i]) < 1e-6, `coefficient ${i}: ${c}`));
    const bad = await b.invokeError({ y: [1, 2, 3] });
    assert.equal(bad.errorType, 'ValueError');
});
function spawnSyncPython(args) {
    return spawnSync(PYTHON, args, { stdio: 'ignore' }).status;
}
//# sourceMappingURL=runtimes.test.js.map