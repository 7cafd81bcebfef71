// Scheduling behaviour with real instances: concurrency, queueing, 429, timeouts,
// crashes, keep-alive and memory-budget eviction.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deployOk, invoke, startTestHearth, writeFunction, type TestHearth } from '../helpers.js';

/** A call that needed a new instance: cold, or (with zygotes) repurpose / fork. */
const NEW_INSTANCE = /^(cold|repurpose|fork)$/;

let h: TestHearth;
before(async () => {
  h = await startTestHearth({ queueLength: 2 });
});
after(async () => {
  await h.cleanup();
});

// Returns an id drawn at the instance's first call: distinct per instance (pids are not: a sandboxed instance is
// pid 1 of its own namespace; nor is anything drawn at init, which a template runs once for all its instances).
const SLEEPER = { 'index.mjs': 'let id; export const handler = async (e) => { id ??= Math.random(); await new Promise((r) => setTimeout(r, e.ms ?? 300)); return id; };' };

test('concurrent calls start more instances up to the concurrency limit, then queue, then 429', async () => {
  await deployOk(h.url, writeFunction({ name: 'sleeper', runtime: 'nodejs20', handler: 'index.handler', concurrency: 2 }, SLEEPER));
  // 2 run, 2 queue, the rest are refused.
  const calls = await Promise.all(Array.from({ length: 6 }, () => invoke(h.url, 'sleeper', { ms: 1500 })));
  const statuses = calls.map((c) => c.status).sort();
  assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  const ok = calls.filter((c) => c.status === 200);
  const pids = new Set(ok.map((c) => c.body));
  assert.equal(pids.size, 2, 'never more than 2 instances');
  const paths = ok.map((c) => c.headers.get('x-hearth-start-path')!);
  assert.equal(paths.filter((p) => p === 'warm').length, 2, paths.join(','));
  assert.ok(paths.filter((p) => p !== 'warm').every((p) => NEW_INSTANCE.test(p)), paths.join(','));
  const throttled = calls.find((c) => c.status === 429)!;
  assert.match((throttled.body as { error: { message: string } }).error.message, /concurrency limit \(2\) and its queue is full/);
  // Queued calls report their queue time.
  const queued = ok.filter((c) => c.headers.get('x-hearth-start-path') === 'warm');
  for (const c of queued) {
    const q = Number(/queue;dur=([\d.]+)/.exec(c.headers.get('server-timing') ?? '')?.[1]);
    assert.ok(q > 100, `queued call waited (${q} ms)`);
  }
});

test('a timeout kills the instance with a clear error and the next call works', async () => {
  await deployOk(h.url, writeFunction({ name: 'slow', runtime: 'nodejs20', handler: 'index.handler', timeoutS: 1 }, SLEEPER));
  const r = await invoke(h.url, 'slow', { ms: 5000 });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-amz-function-error'), 'Unhandled');
  assert.equal(r.headers.get('x-hearth-error-kind'), 'timeout');
  assert.deepEqual(r.body, { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 1.00 seconds' });
  const next = await invoke(h.url, 'slow', { ms: 10 });
  assert.equal(next.status, 200);
  assert.match(next.headers.get('x-hearth-start-path') ?? '', NEW_INSTANCE, 'the timed-out instance is gone');
  assert.equal(typeof next.body, 'number');
});

test('a crashing instance (exit, signal) returns a clear error and the next call works', async () => {
  await deployOk(
    h.url,
    writeFunction(
      { name: 'crasher', runtime: 'nodejs20', handler: 'index.handler' },
      { 'index.mjs': 'export const handler = (e) => { if (e.exit !== undefined) process.exit(e.exit); if (e.abort) process.abort(); if (e.uncaught) return new Promise(() => setTimeout(() => { throw new Error("boom in timer"); }, 5)); return "alive"; };' },
    ),
  );
  const exited = await invoke(h.url, 'crasher', { exit: 3 });
  assert.equal(exited.headers.get('x-hearth-error-kind'), 'crash');
  assert.deepEqual(exited.body, { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error: exit status 3' });
  const signalled = await invoke(h.url, 'crasher', { abort: true });
  assert.equal((signalled.body as { errorType: string }).errorType, 'Runtime.ExitError');
  // abort() raises SIGABRT; as the init of its pid namespace (sandboxed) the runtime ends with SIGSEGV instead.
  assert.match((signalled.body as { errorMessage: string }).errorMessage, /^Runtime exited with error: signal: SIG(ABRT|SEGV)$/);
  assert.equal((await invoke(h.url, 'crasher', {})).body, 'alive');
  // An uncaught exception ends the call with its error; the dying process is never handed the next call.
  const uncaught = await invoke(h.url, 'crasher', { uncaught: true });
  assert.equal((uncaught.body as { errorMessage: string }).errorMessage, 'boom in timer');
  const after = await invoke(h.url, 'crasher', {});
  assert.equal(after.body, 'alive');
  assert.match(after.headers.get('x-hearth-start-path') ?? '', NEW_INSTANCE);

  await deployOk(h.url, writeFunction({ name: 'pycrash', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'import os\ndef handler(e, c):\n    os._exit(7)\n' }));
  const py = await invoke(h.url, 'pycrash');
  assert.equal((py.body as { errorMessage: string }).errorMessage, 'Runtime exited with error: exit status 7');
});

test('a crashing function does not disturb another function', async () => {
  await deployOk(h.url, writeFunction({ name: 'steady', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'export const handler = () => "steady";' }));
  const results = await Promise.all([invoke(h.url, 'crasher', { exit: 1 }), invoke(h.url, 'steady'), invoke(h.url, 'crasher', { exit: 1 }), invoke(h.url, 'steady')]);
  assert.equal(results[1]!.body, 'steady');
  assert.equal(results[3]!.body, 'steady');
});

test('idle instances expire after the keep-alive TTL', async () => {
  const short = await startTestHearth({ keepAliveMs: 300 });
  try {
    await deployOk(short.url, writeFunction({ name: 'brief', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'export const handler = () => process.pid;' }));
    assert.match((await invoke(short.url, 'brief')).headers.get('x-hearth-start-path') ?? '', NEW_INSTANCE);
    assert.equal((await invoke(short.url, 'brief')).headers.get('x-hearth-start-path'), 'warm');
    await new Promise((r) => setTimeout(r, 1000));
    assert.match((await invoke(short.url, 'brief')).headers.get('x-hearth-start-path') ?? '', NEW_INSTANCE);
    const metrics = await (await fetch(`${short.url}/metrics`)).text();
    assert.match(metrics, /hearth_evictions_total\{reason="keepalive"\} 1/);
  } finally {
    await short.cleanup();
  }
});

test('the node memory budget evicts the least recently used idle instance', async () => {
  const tight = await startTestHearth({ memoryBudgetMB: 256 });
  try {
    for (const name of ['m1', 'm2', 'm3']) {
      await deployOk(tight.url, writeFunction({ name, runtime: 'nodejs20', handler: 'index.handler', memoryMB: 128 }, { 'index.mjs': 'export const handler = () => process.pid;' }));
    }
    await invoke(tight.url, 'm1');
    await invoke(tight.url, 'm2');
    assert.equal((await invoke(tight.url, 'm1')).headers.get('x-hearth-start-path'), 'warm');
    // m3 needs room: m2 is the least recently used.
    await invoke(tight.url, 'm3');
    assert.equal((await invoke(tight.url, 'm1')).headers.get('x-hearth-start-path'), 'warm');
    assert.match((await invoke(tight.url, 'm2')).headers.get('x-hearth-start-path') ?? '', NEW_INSTANCE);
    const metrics = await (await fetch(`${tight.url}/metrics`)).text();
    assert.match(metrics, /hearth_evictions_total\{reason="memory"\} [1-9]/);
    assert.match(metrics, /hearth_reserved_memory_bytes 268435456/);
  } finally {
    await tight.cleanup();
  }
});

test('a function whose instance is larger than the whole node budget gets 503 at once, not a queue timeout', async () => {
  const tight = await startTestHearth({ memoryBudgetMB: 128 });
  try {
    await deployOk(tight.url, writeFunction({ name: 'too-big', runtime: 'nodejs20', handler: 'index.handler', memoryMB: 256 }, { 'index.mjs': 'export const handler = () => 1;' }));
    const t0 = performance.now();
    const r = await invoke(tight.url, 'too-big');
    assert.equal(r.status, 503);
    assert.match(r.text, /HEARTH_E_CAPACITY.*needs 256 MB per instance, more than this node's whole memory budget \(128 MB\)/);
    assert.ok(performance.now() - t0 < 5000, 'answered at once');
  } finally {
    await tight.cleanup();
  }
});

test('when every instance is busy and the budget is full, calls queue until one frees', async () => {
  const tight = await startTestHearth({ memoryBudgetMB: 128 });
  try {
    await deployOk(tight.url, writeFunction({ name: 'a', runtime: 'nodejs20', handler: 'index.handler', memoryMB: 128 }, SLEEPER));
    await deployOk(tight.url, writeFunction({ name: 'b', runtime: 'nodejs20', handler: 'index.handler', memoryMB: 128 }, SLEEPER));
    const [ra, rb] = await Promise.all([invoke(tight.url, 'a', { ms: 800 }), new Promise((r) => setTimeout(r, 100)).then(() => invoke(tight.url, 'b', { ms: 10 }))]);
    assert.equal(ra.status, 200);
    assert.equal(rb.status, 200);
    const q = Number(/queue;dur=([\d.]+)/.exec(rb.headers.get('server-timing') ?? '')?.[1]);
    assert.ok(q > 300, `b waited for a's instance to finish and be evicted (${q} ms)`);
  } finally {
    await tight.cleanup();
  }
});

test('an instance that exceeds its memory limit is killed alone with a clear out-of-memory error', { skip: process.getuid?.() !== 0 ? 'needs root for cgroups' : false }, async () => {
  await deployOk(h.url, writeFunction({ name: 'hog-node', runtime: 'nodejs20', handler: 'index.handler', memoryMB: 128 }, { 'index.mjs': 'export const handler = (e) => { if (e.hog) { const b = Buffer.alloc(400 * 1024 * 1024, 1); return b.length; } return "fine"; };' }));
  await deployOk(h.url, writeFunction({ name: 'hog-py', runtime: 'python3.11', handler: 'app.handler', memoryMB: 128 }, { 'app.py': 'def handler(e, c):\n    if e.get("hog"):\n        x = b"x" * (400 * 2**20)\n        return len(x)\n    return "fine"\n' }));
  for (const name of ['hog-node', 'hog-py']) {
    assert.equal((await invoke(h.url, name)).body, 'fine');
    const r = await invoke(h.url, name, { hog: true });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-hearth-error-kind'), 'oom', `${name}: ${r.text}`);
    assert.deepEqual(r.body, { errorType: 'Runtime.OutOfMemory', errorMessage: 'Runtime exited with error: out of memory (limit 128 MB)' });
    const next = await invoke(h.url, name);
    assert.equal(next.body, 'fine');
    assert.notEqual(next.headers.get('x-hearth-start-path'), 'warm', 'a new instance replaced the killed one');
  }
  assert.equal((await invoke(h.url, 'steady')).body, 'steady', 'other functions are untouched');
  const metrics = await (await fetch(`${h.url}/metrics`)).text();
  assert.match(metrics, /hearth_invocations_total\{function="hog-node",start_path="warm",outcome="oom"\} 1/);
});
