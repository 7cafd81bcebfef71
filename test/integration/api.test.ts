// The HTTP API against a real server with real runtime processes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deployDir, deployOk, invoke, NODE_ECHO, PY_ECHO, startTestHearth, writeFunction, type TestHearth } from '../helpers.js';

/** A call that needed a new instance: cold, or (with zygotes) repurpose / fork. */
const NEW_INSTANCE = /^(cold|repurpose|fork)$/;
import { zipDirectory } from '../../src/cli/zip-dir.js';

let h: TestHearth;
before(async () => {
  h = await startTestHearth();
});
after(async () => {
  await h.cleanup();
});

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return body.error;
}

describe('deploy and invoke', () => {
  test('Node.js (ESM) function: deploy, invoke cold then warm, module init once', async () => {
    const dir = writeFunction({ name: 'echo-node', runtime: 'nodejs20', handler: 'index.handler' }, NODE_ECHO);
    const deployed = await deployOk(h.url, dir);
    assert.deepEqual(deployed.name, 'echo-node');
    assert.equal(deployed.version, 1);

    const first = await invoke(h.url, 'echo-node', { hello: 'world' });
    assert.equal(first.status, 200);
    assert.match(first.headers.get('x-hearth-start-path') ?? '', NEW_INSTANCE);
    assert.match(first.headers.get('server-timing') ?? '', /queue;dur=[\d.]+, sandbox;dur=[\d.]+, process;dur=[\d.]+, init;dur=[\d.]+, exec;dur=[\d.]+/);
    const body = first.body as { echo: unknown; inits: number; fn: string; requestId: string; pid: number };
    assert.deepEqual(body.echo, { hello: 'world' });
    assert.equal(body.fn, 'echo-node');
    assert.equal(body.requestId, first.headers.get('x-hearth-request-id'));

    const second = await invoke(h.url, 'echo-node', { n: 2 });
    assert.equal(second.headers.get('x-hearth-start-path'), 'warm');
    const body2 = second.body as { inits: number; pid: number };
    assert.equal(body2.pid, body.pid, 'the warm call reuses the instance');
    assert.equal(body2.inits, 1, 'module init ran once per instance');
  });

  test('Python function: deploy, invoke cold then warm', async () => {
    const dir = writeFunction({ name: 'echo-py', runtime: 'python3.11', handler: 'app.handler' }, PY_ECHO);
    await deployOk(h.url, dir);
    const first = await invoke(h.url, 'echo-py', { x: [1, 2, 3] });
    assert.equal(first.status, 200, first.text);
    // Python starts through its zygote (repurpose) where the native addon is built, else cold.
    assert.equal(first.headers.get('x-hearth-start-path'), h.hearth.templates ? 'repurpose' : 'cold');
    assert.deepEqual((first.body as { echo: unknown }).echo, { x: [1, 2, 3] });
    const second = await invoke(h.url, 'echo-py', {});
    assert.equal(second.headers.get('x-hearth-start-path'), 'warm');
    assert.equal((second.body as { inits: number }).inits, 1);
  });

  test('CommonJS handler and the JSON invoke route with timings and logs', async () => {
    const dir = writeFunction(
      { name: 'cjs', runtime: 'nodejs20', handler: 'index.handler' },
      { 'index.js': `exports.handler = async (event) => { console.log('got', JSON.stringify(event)); return 'plain string'; };` },
    );
    await deployOk(h.url, dir);
    const response = await fetch(`${h.url}/v1/functions/cjs/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { ok: boolean; result: unknown; startPath: string; timings: Record<string, number>; logs: string };
    assert.equal(body.ok, true);
    assert.equal(body.result, 'plain string');
    assert.match(String(body.startPath), NEW_INSTANCE);
    for (const phase of ['queueMs', 'sandboxMs', 'processMs', 'initMs', 'execMs', 'startMs', 'totalMs']) assert.equal(typeof body.timings[phase], 'number', phase);
    assert.match(body.logs, /got \{"a":1\}/);
  });

  test('non-JSON bodies reach the handler as a string; empty body is {}', async () => {
    const text = await fetch(`${h.url}/function/echo-node`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi there' });
    assert.deepEqual(((await text.json()) as { echo: unknown }).echo, 'hi there');
    const empty = await fetch(`${h.url}/function/echo-node`, { method: 'POST' });
    assert.deepEqual(((await empty.json()) as { echo: unknown }).echo, {});
  });

  test('handler errors come back as 200 + X-Amz-Function-Error with Lambda error shape', async () => {
    const dir = writeFunction(
      { name: 'thrower', runtime: 'nodejs20', handler: 'index.handler' },
      { 'index.mjs': `export const handler = async () => { const e = new TypeError('bad thing'); throw e; };` },
    );
    await deployOk(h.url, dir);
    const r = await invoke(h.url, 'thrower');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-amz-function-error'), 'Unhandled');
    assert.equal(r.headers.get('x-hearth-error-kind'), 'handler');
    const err = r.body as { errorType: string; errorMessage: string; stackTrace: string[] };
    assert.equal(err.errorType, 'TypeError');
    assert.equal(err.errorMessage, 'bad thing');
    assert.ok(Array.isArray(err.stackTrace) && err.stackTrace.length > 0);
    // The instance survives a handler exception.
    assert.equal((await invoke(h.url, 'thrower')).headers.get('x-hearth-start-path'), 'warm');
  });

  test('python handler errors', async () => {
    const dir = writeFunction({ name: 'pythrow', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': `def handler(event, context):\n    raise ValueError("nope")\n` });
    await deployOk(h.url, dir);
    const r = await invoke(h.url, 'pythrow');
    assert.equal(r.headers.get('x-amz-function-error'), 'Unhandled');
    assert.deepEqual([(r.body as { errorType: string }).errorType, (r.body as { errorMessage: string }).errorMessage], ['ValueError', 'nope']);
  });

  test('init errors are reported as function errors, and a fixed deploy works', async () => {
    const dir = writeFunction({ name: 'broken', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': `throw new Error('init exploded');\nexport const handler = () => 1;` });
    await deployOk(h.url, dir);
    const r = await invoke(h.url, 'broken');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-amz-function-error'), 'Unhandled');
    assert.match((r.body as { errorMessage: string }).errorMessage, /init exploded/);
    fs.writeFileSync(path.join(dir, 'index.mjs'), 'export const handler = () => "fixed";');
    const v2 = await deployOk(h.url, dir);
    assert.equal(v2.version, 2);
    const ok = await invoke(h.url, 'broken');
    assert.equal(ok.body, 'fixed');
  });

  test('redeploy: new version serves, old instances retire', async () => {
    const dir = writeFunction({ name: 'versioned', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'export const handler = () => "v1";' });
    await deployOk(h.url, dir);
    assert.equal((await invoke(h.url, 'versioned')).body, 'v1');
    fs.writeFileSync(path.join(dir, 'index.mjs'), 'export const handler = () => "v2";');
    await deployOk(h.url, dir);
    const r = await invoke(h.url, 'versioned');
    assert.equal(r.body, 'v2');
    assert.equal(r.headers.get('x-hearth-function-version'), '2');
    assert.match(r.headers.get('x-hearth-start-path') ?? '', NEW_INSTANCE);
  });
});

describe('management routes', () => {
  test('list, get, logs, delete', async () => {
    const dir = writeFunction({ name: 'managed', runtime: 'nodejs20', handler: 'index.handler', memoryMB: 256, env: { GREETING: 'hey' } }, { 'index.mjs': 'export const handler = () => { console.log("line from", process.env.GREETING); return process.env.GREETING; };' });
    await deployOk(h.url, dir);
    assert.equal((await invoke(h.url, 'managed')).body, 'hey');

    const list = (await (await fetch(`${h.url}/v1/functions`)).json()) as { functions: Array<{ name: string; memoryMB: number; instances: { idle: number }; memory: { pssKB: number } }> };
    const entry = list.functions.find((f) => f.name === 'managed');
    assert.ok(entry);
    assert.equal(entry.memoryMB, 256);
    assert.equal(entry.instances.idle, 1);
    assert.ok(entry.memory.pssKB > 0, 'PSS of the idle instance is reported');

    const got = (await (await fetch(`${h.url}/v1/functions/managed`)).json()) as { versions: unknown[]; instances: { instances: Array<{ pssKB: number }> } };
    assert.equal(got.versions.length, 1);
    assert.ok(got.instances.instances[0]!.pssKB > 0);

    const logs = await (await fetch(`${h.url}/v1/functions/managed/logs?lines=50`)).text();
    assert.match(logs, /stdout\tline from hey/);
    assert.match(logs, /platform\tREPORT start=(cold|repurpose|fork) /);

    const del = await fetch(`${h.url}/v1/functions/managed`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    const gone = await fetch(`${h.url}/v1/functions/managed`);
    assert.equal(gone.status, 404);
    assert.equal((await errorOf(gone)).code, 'HEARTH_E_FUNCTION_NOT_FOUND');
    assert.equal((await invoke(h.url, 'managed')).status, 404);
  });

  test('logs -f streams new lines', async () => {
    const dir = writeFunction({ name: 'talker', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'export const handler = (e) => { console.log("said", e.n); return e.n; };' });
    await deployOk(h.url, dir);
    const controller = new AbortController();
    const response = await fetch(`${h.url}/v1/functions/talker/logs?follow=true&lines=1`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await invoke(h.url, 'talker', { n: 42 });
    let text = '';
    while (!/said 42/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    controller.abort();
    assert.match(text, /said 42/);
  });

  test('healthz and metrics', async () => {
    assert.deepEqual(await (await fetch(`${h.url}/healthz`)).json(), { status: 'ok' });
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    assert.match(metrics, /hearth_invocations_total\{function="echo-node",start_path="(cold|repurpose)",outcome="ok"\} 1/);
    assert.match(metrics, /hearth_invocation_phase_seconds_bucket\{le="[\d.]+",phase="init",start_path="(cold|repurpose)",runtime="nodejs20"\}/);
    assert.match(metrics, /hearth_start_seconds_count\{start_path="warm",runtime="python3.11"\} \d+/);
    assert.match(metrics, /hearth_instances\{state="idle"\} \d+/);
  });
});

describe('bad input', () => {
  test('deploy: no manifest, bad manifest field, bad JSON manifest, missing handler file', async () => {
    let r = await deployDir(h.url, writeFunction(undefined, { 'index.mjs': '' }));
    assert.equal(r.status, 400);
    assert.match((await errorOf(r)).message, /no hearth\.json/);

    r = await deployDir(h.url, writeFunction({ name: 'x', runtime: 'java', handler: 'a.b' }, { 'a.js': '' }));
    assert.equal(r.status, 400);
    const e = await errorOf(r);
    assert.equal(e.code, 'HEARTH_E_MANIFEST_INVALID');
    assert.match(e.message, /hearth\.json: field 'runtime'/);

    const dir = writeFunction(undefined, { 'index.mjs': '' });
    fs.writeFileSync(path.join(dir, 'hearth.json'), '{ not json');
    r = await deployDir(h.url, dir);
    assert.match((await errorOf(r)).message, /hearth\.json: not valid JSON/);

    r = await deployDir(h.url, writeFunction({ name: 'nofile', runtime: 'nodejs20', handler: 'main.handler' }, { 'index.mjs': '' }));
    assert.equal(r.status, 400);
    assert.match((await errorOf(r)).message, /handler 'main\.handler': none of 'main\.js', 'main\.mjs', 'main\.cjs' exists/);
    assert.equal((await fetch(`${h.url}/v1/functions/nofile`)).status, 404, 'nothing was stored');
  });

  test('deploy: JSON body with base64 and manifest; bad base64 body; wrong content type; empty body; not a zip', async () => {
    const dir = writeFunction(undefined, { 'index.mjs': 'export const handler = () => "json-deployed";' });
    const zip = await zipDirectory(dir);
    let r = await fetch(`${h.url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ zipBase64: zip.toString('base64'), manifest: { name: 'viajson', runtime: 'nodejs20', handler: 'index.handler' } }) });
    assert.equal(r.status, 201);
    assert.equal((await invoke(h.url, 'viajson')).body, 'json-deployed');

    r = await fetch(`${h.url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ zipBase64: '!!!' }) });
    assert.equal(r.status, 400);
    assert.match((await errorOf(r)).message, /'zipBase64' must be base64/);

    r = await fetch(`${h.url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"zipBase64": 5' });
    assert.match((await errorOf(r)).message, /not valid JSON/);

    r = await fetch(`${h.url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(r.status, 400);
    assert.match((await errorOf(r)).message, /Content-Type/);

    r = await fetch(`${h.url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/zip' } });
    assert.equal(r.status, 400);

    r = await fetch(`${h.url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: 'PK not really' });
    assert.equal((await errorOf(r)).code, 'HEARTH_E_PACKAGE_INVALID');
  });

  test('deploy: oversize upload is refused with 413', async () => {
    const small = await startTestHearth({ maxUploadBytes: 64 * 1024 });
    try {
      const big = Buffer.alloc(200 * 1024, 7);
      const r = await fetch(`${small.url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: big });
      assert.equal(r.status, 413);
      assert.equal((await errorOf(r)).code, 'HEARTH_E_PACKAGE_TOO_LARGE');
    } finally {
      await small.cleanup();
    }
  });

  test('invoke: unknown function, bad name, malformed JSON, oversize payload', async () => {
    let r = await fetch(`${h.url}/function/does-not-exist`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 404);
    assert.match((await errorOf(r)).message, /function 'does-not-exist' does not exist/);

    r = await fetch(`${h.url}/function/bad%20name`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 400);
    assert.match((await errorOf(r)).message, /path: 'name'/);

    r = await fetch(`${h.url}/function/echo-node`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    assert.equal(r.status, 400);
    assert.match((await errorOf(r)).message, /not valid JSON/);

    r = await fetch(`${h.url}/function/echo-node`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ blob: 'x'.repeat(7 * 1024 * 1024) }) });
    assert.equal(r.status, 413);
    assert.equal((await errorOf(r)).code, 'HEARTH_E_PAYLOAD_TOO_LARGE');

    r = await fetch(`${h.url}/nope`);
    assert.equal(r.status, 404);
    assert.equal((await errorOf(r)).code, 'HEARTH_E_NOT_FOUND');
  });

  test('a response larger than the payload limit is a function error', async () => {
    const dir = writeFunction({ name: 'bigreply', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'export const handler = () => "y".repeat(7 * 1024 * 1024);' });
    await deployOk(h.url, dir);
    const r = await invoke(h.url, 'bigreply');
    assert.equal(r.headers.get('x-amz-function-error'), 'Unhandled');
    assert.equal((r.body as { errorType: string }).errorType, 'Function.ResponseSizeTooLarge');
  });
});

describe('auth', () => {
  test('with a token every route but /healthz needs it', async () => {
    const token = 'a-long-test-token-123456';
    const secured = await startTestHearth({ token });
    try {
      assert.equal((await fetch(`${secured.url}/healthz`)).status, 200);
      const denied = await fetch(`${secured.url}/v1/functions`);
      assert.equal(denied.status, 401);
      assert.match((await errorOf(denied)).message, /missing bearer token/);
      const wrong = await fetch(`${secured.url}/v1/functions`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } });
      assert.equal(wrong.status, 401);
      assert.equal((await fetch(`${secured.url}/function/x`, { method: 'POST' })).status, 401);
      assert.equal((await fetch(`${secured.url}/metrics`)).status, 401);
      const ok = await fetch(`${secured.url}/v1/functions`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
    } finally {
      await secured.cleanup();
    }
  });

  test('listening beyond loopback without a token is refused at start', async () => {
    await assert.rejects(startTestHearth({ host: '0.0.0.0' }), /requires a token/);
  });
});
