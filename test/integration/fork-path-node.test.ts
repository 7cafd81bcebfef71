// The fork and repurpose start paths (zygote → template → instance), Node.js:
// the same checks as fork-path.test.ts (Python), plus what a forked V8/libuv
// process must survive (thread pool, timers, heavy GC) and the after-fork hooks.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NATIVE_ADDON_PATH } from '../../src/sandbox/native.js';
import { after, before, test } from 'node:test';
import { deployOk, invoke, REPO, startTestHearth, writeFunction, type TestHearth } from '../helpers.js';

let h: TestHearth;
let cold: TestHearth;
/** keepAliveMs 0: every call gets a new instance, forked from the template. */
let fresh: TestHearth;
before(async () => {
  // The fork paths are not sandboxed yet, so they run only with sandboxes off.
  h = await startTestHearth({ keepAliveMs: 60_000, sandbox: false });
  cold = await startTestHearth({ forkPaths: false, sandbox: false });
  fresh = await startTestHearth({ keepAliveMs: 0, sandbox: false });
});
after(async () => {
  await h.cleanup();
  await cold.cleanup();
  await fresh.cleanup();
});

const skip = (): string | false => (fs.existsSync(NATIVE_ADDON_PATH) ? false : 'the native addon is not built (npm run build:native): no fork path');

const STATEFUL = {
  'index.mjs': `import crypto from 'node:crypto';
import fs from 'node:fs';
let counter = 0;
const initPid = process.pid;
const table = Array.from({ length: 1000 }, (_, i) => i * i);
// The init uses every random source whose state a fork copies.
const initRandom = [Math.random(), crypto.randomUUID(), globalThis.crypto.randomUUID(), crypto.randomInt(1000), crypto.randomBytes(4).toString('hex')];
export const handler = async (event, context) => {
  counter += 1;
  return {
    sum: table.reduce((a, b) => a + b, 0), counter, initRandomCount: initRandom.length,
    random: [Math.random(), Math.random(), Math.random()].join(','),
    uuid: crypto.randomUUID(), webUuid: globalThis.crypto.randomUUID(), int: crypto.randomInt(2 ** 47), bytes: crypto.randomBytes(16).toString('hex'),
    pid: process.pid, realPid: Number(fs.readlinkSync('/proc/self')), initPid, fn: context.functionName, env: process.env.GREETING ?? null,
  };
};
`,
};

type Stateful = { sum: number; counter: number; random: string; uuid: string; webUuid: string; int: number; bytes: string; pid: number; realPid: number; initPid: number; fn: string; env: string | null };

async function waitNoInstances(t: TestHearth, name: string): Promise<void> {
  while (t.hearth.scheduler.stats(name)[0]?.instances.length) await new Promise((r) => setTimeout(r, 1));
}

test('node: repurpose, then fork; the same results as a cold start', { skip: skip() }, async () => {
  const manifest = { name: 'nforky', runtime: 'nodejs20', handler: 'index.handler', env: { GREETING: 'hi' } };
  await deployOk(h.url, writeFunction(manifest, STATEFUL));
  await deployOk(cold.url, writeFunction(manifest, STATEFUL));

  const first = await invoke(h.url, 'nforky');
  assert.equal(first.headers.get('x-hearth-start-path'), 'repurpose', first.text);
  const [a, b] = await Promise.all([invoke(h.url, 'nforky'), invoke(h.url, 'nforky')]);
  const paths = [a.headers.get('x-hearth-start-path'), b.headers.get('x-hearth-start-path')].sort();
  assert.ok(paths.includes('fork') || paths.every((p) => p === 'warm'), `paths: ${paths.join(',')}`);

  const viaCold = (await invoke(cold.url, 'nforky')).body as Stateful;
  assert.equal(viaCold.pid, viaCold.realPid);
  for (const r of [first, a, b]) {
    const body = r.body as Stateful;
    assert.equal(body.sum, viaCold.sum);
    assert.equal(body.fn, viaCold.fn);
    assert.equal(body.env, 'hi');
    // Init ran in the template, not in the instance; process.pid is the instance's own.
    assert.notEqual(body.pid, body.initPid);
    assert.equal(body.pid, body.realPid);
  }
});

test('node: forked instances do not share globals; init runs once per template', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction({ name: 'nsiblings', runtime: 'nodejs20', handler: 'index.handler', concurrency: 4 }, STATEFUL));
  const results = await Promise.all(Array.from({ length: 4 }, () => invoke(h.url, 'nsiblings')));
  const bodies = results.map((r) => r.body as Stateful);
  assert.equal(new Set(bodies.map((b) => b.pid)).size, 4);
  assert.equal(new Set(bodies.map((b) => b.initPid)).size, 1, 'all forked from one template');
  for (const body of bodies) assert.equal(body.counter, 1, 'each instance has its own copy of the globals');
});

test('node: 1000 forks give 1000 distinct Math.random sequences, UUIDs and random bytes', { skip: skip() }, async () => {
  await deployOk(fresh.url, writeFunction({ name: 'nuniq', runtime: 'nodejs20', handler: 'index.handler', concurrency: 8 }, STATEFUL));
  const bodies: Stateful[] = [];
  const paths = new Map<string, number>();
  let calls = 0;
  const call = async (): Promise<void> => {
    calls += 1;
    const r = await invoke(fresh.url, 'nuniq');
    assert.equal(r.status, 200, r.text);
    const p = r.headers.get('x-hearth-start-path')!;
    paths.set(p, (paths.get(p) ?? 0) + 1);
    // keepAliveMs 0 retires an instance on the next turn of the event loop: a call from another lane may still find it warm.
    if (p !== 'warm') bodies.push(r.body as Stateful);
  };
  await call(); // creates the template
  // Four lanes of sequential calls, below the function's concurrency: a call starts a new instance (or, rarely, finds one warm).
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (bodies.length < 1000 && calls < 1200) await call();
    }),
  );
  assert.equal(paths.get('repurpose'), 1, JSON.stringify([...paths]));
  assert.ok(bodies.length >= 1000 && (paths.get('fork') ?? 0) >= 999, JSON.stringify([...paths]));
  bodies.length = 1000;
  for (const key of ['random', 'uuid', 'webUuid', 'int', 'bytes', 'pid'] as const) {
    assert.equal(new Set(bodies.map((b) => b[key])).size, 1000, `distinct ${key}`);
  }
  assert.equal(new Set(bodies.map((b) => b.random.split(',')[0])).size, 1000, 'distinct first Math.random() values');
  assert.equal(new Set(bodies.map((b) => b.initPid)).size, 1, 'one template');
});

test('node: a forked instance survives the libuv thread pool, timers and a heavy GC', { skip: skip() }, async () => {
  const files = {
    'index.mjs': `import crypto from 'node:crypto';
import dns from 'node:dns/promises';
import fs from 'node:fs/promises';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
const gcs = { all: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcs.all += 1;
    if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcs.major += 1;
  }
}).observe({ entryTypes: ['gc'] });
const source = await fs.readFile(new URL(import.meta.url));
export const handler = async () => {
  const key = await promisify(crypto.pbkdf2)('secret', 'salt', 1000, 32, 'sha256');
  const packed = await promisify(zlib.gzip)(Buffer.alloc(1 << 20, 'hearth '));
  const unpacked = await promisify(zlib.gunzip)(packed);
  const file = '/tmp/hearth-fork-test-' + process.pid;
  await fs.writeFile(file, 'written in the instance');
  const read = await fs.readFile(file, 'utf8');
  await fs.unlink(file);
  const local = await dns.lookup('localhost');
  const timed = await new Promise((resolve) => { const t0 = Date.now(); setTimeout(() => resolve(Date.now() - t0), 30); });
  let ticks = 0;
  await new Promise((resolve) => { const i = setInterval(() => { if (++ticks === 3) { clearInterval(i); resolve(); } }, 5); });
  // About 100 MB of objects per round, kept alive until the next round drops them: scavenges and mark-compacts.
  let keep = [];
  for (let round = 0; round < 2; round++) {
    keep = [];
    for (let i = 0; i < 900_000; i++) keep.push({ i, s: 'x' + i, a: [i, i + 1] });
  }
  const kept = keep.length;
  keep = null;
  await new Promise((resolve) => setTimeout(resolve, 20)); // GC entries are delivered asynchronously
  return { key: key.toString('hex'), unpacked: unpacked.length, read, local: local.family > 0, timed, ticks, kept, gcs, sourceBytes: source.length, pid: process.pid };
};
`,
  };
  await deployOk(fresh.url, writeFunction({ name: 'nheavy', runtime: 'nodejs20', handler: 'index.handler', memoryMB: 1024, timeoutS: 60 }, files));
  const expected = { key: crypto.pbkdf2Sync('secret', 'salt', 1000, 32, 'sha256').toString('hex'), sourceBytes: Buffer.byteLength(files['index.mjs']) };
  for (const wanted of ['repurpose', 'fork', 'fork']) {
    await waitNoInstances(fresh, 'nheavy');
    const r = await invoke(fresh.url, 'nheavy');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-hearth-start-path'), wanted);
    assert.equal(r.headers.get('x-amz-function-error'), null, r.text);
    const body = r.body as { key: string; unpacked: number; read: string; local: boolean; timed: number; ticks: number; kept: number; gcs: { all: number; major: number }; sourceBytes: number };
    assert.equal(body.key, expected.key);
    assert.equal(body.unpacked, 1 << 20);
    assert.equal(body.read, 'written in the instance');
    assert.equal(body.local, true);
    assert.ok(body.timed >= 25, `timer fired after ${body.timed} ms`);
    assert.equal(body.ticks, 3);
    assert.equal(body.kept, 900_000);
    assert.ok(body.gcs.major >= 1, `a mark-compact ran in the instance: ${JSON.stringify(body.gcs)}`);
    assert.equal(body.sourceBytes, expected.sourceBytes);
  }
});

test('node: a crashed template is re-created and the call succeeds; a killed zygote is restarted', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction({ name: 'nphoenix', runtime: 'nodejs20', handler: 'index.handler' }, STATEFUL));
  const first = await invoke(h.url, 'nphoenix');
  assert.equal(first.headers.get('x-hearth-start-path'), 'repurpose');
  const templatePid = (first.body as Stateful).initPid;
  process.kill(templatePid, 'SIGKILL');
  await h.hearth.scheduler.removeFunction('nphoenix'); // drop the warm instance too
  await new Promise((r) => setTimeout(r, 100));
  const again = await invoke(h.url, 'nphoenix');
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('x-hearth-start-path'), 'repurpose', 'a new template was made');
  assert.notEqual((again.body as Stateful).initPid, templatePid);

  const zygote = h.hearth.templates!.zygotes.get('nodejs20')!;
  const startsBefore = zygote.starts;
  const zygotePid = zygote.pid!;
  const newTemplatePid = (again.body as Stateful).initPid;
  process.kill(zygotePid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  // The template dies with its zygote (PR_SET_PDEATHSIG).
  await waitFor(() => !isAlive(newTemplatePid), 'the template died with the zygote');
  await h.hearth.scheduler.removeFunction('nphoenix');
  h.hearth.templates!.retire('nphoenix');
  const afterZygote = await invoke(h.url, 'nphoenix');
  assert.equal(afterZygote.status, 200, afterZygote.text);
  assert.equal(afterZygote.headers.get('x-hearth-start-path'), 'repurpose');
  assert.equal(zygote.starts, startsBefore + 1, 'the zygote was restarted');
  assert.notEqual(zygote.pid, zygotePid);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still "exists": look at its state.
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('node: a new version retires the old template; init errors and crashes are reported like cold ones', { skip: skip() }, async () => {
  const v1Files = { 'index.mjs': 'const initPid = process.pid;\nexport const handler = async (e) => {\n  if (e.exit) process.exit(e.exit);\n  return ["v1", initPid];\n};\n' };
  await deployOk(h.url, writeFunction({ name: 'nevolving', runtime: 'nodejs20', handler: 'index.handler' }, v1Files));
  const v1 = (await invoke(h.url, 'nevolving')).body as [string, number];
  assert.equal(v1[0], 'v1');
  const crash = await invoke(h.url, 'nevolving', { exit: 4 });
  assert.deepEqual(crash.body, { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error: exit status 4' });
  assert.equal((await invoke(h.url, 'nevolving')).headers.get('x-hearth-start-path'), 'fork');

  await deployOk(h.url, writeFunction({ name: 'nevolving', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'const initPid = process.pid;\nexport const handler = async () => ["v2", initPid];\n' }));
  const v2 = await invoke(h.url, 'nevolving');
  assert.equal((v2.body as [string, number])[0], 'v2');
  assert.equal(v2.headers.get('x-hearth-start-path'), 'repurpose');
  await waitFor(() => !isAlive(v1[1]), 'the old template is gone');

  const broken: Record<string, Record<string, string>> = {
    nthrows: { 'index.mjs': 'throw new RangeError("init failed here");\nexport const handler = async () => 1;\n' },
    nmissing: { 'index.mjs': 'export const other = async () => 1;\n' },
    nsyntax: { 'index.mjs': 'export const handler = async () => {;\n' },
    nnomodule: { 'index.mjs': 'import "not-installed-anywhere";\nexport const handler = async () => 1;\n' },
    nrejects: { 'index.mjs': 'await Promise.reject(new TypeError("awaited at init"));\nexport const handler = async () => 1;\n' },
    ncjsthrows: { 'index.cjs': 'throw new Error("cjs init failed");\n' },
  };
  for (const [name, files] of Object.entries(broken)) {
    const manifest = { name, runtime: 'nodejs20', handler: 'index.handler' };
    await deployOk(h.url, writeFunction(manifest, files));
    await deployOk(cold.url, writeFunction(manifest, files));
    const viaFork = await invoke(h.url, name);
    const viaCold = await invoke(cold.url, name);
    assert.equal(viaFork.headers.get('x-amz-function-error'), 'Unhandled', `${name}: ${viaFork.text}`);
    const f = viaFork.body as { errorType: string; errorMessage: string };
    const c = viaCold.body as { errorType: string; errorMessage: string };
    assert.equal(f.errorType, c.errorType, name);
    // Messages name the function's directory, which differs between the two hearths.
    const strip = (m: string): string => m.replace(/\/[^\s'"()]*\/(index\.[cm]?js)/g, '<dir>/$1');
    assert.equal(strip(f.errorMessage), strip(c.errorMessage), name);
    if (name === 'nthrows') assert.deepEqual([f.errorType, f.errorMessage], ['RangeError', 'init failed here']);
  }
});

test('node: ESM and CommonJS handlers (the examples) answer as in a cold start', { skip: skip() }, async () => {
  for (const example of ['hello-node', 'hello-node-cjs']) {
    const dir = path.join(REPO, 'examples', example);
    const name = JSON.parse(fs.readFileSync(path.join(dir, 'hearth.json'), 'utf8')).name as string;
    await deployOk(h.url, dir);
    await deployOk(cold.url, dir);
    const viaCold = (await invoke(cold.url, name, { name: 'zygote' })).body as Record<string, unknown>;
    const viaRepurpose = await invoke(h.url, name, { name: 'zygote' });
    assert.equal(viaRepurpose.headers.get('x-hearth-start-path'), 'repurpose', viaRepurpose.text);
    const body = viaRepurpose.body as Record<string, unknown>;
    for (const key of Object.keys(viaCold)) {
      if (key === 'requestId' || key === 'instanceStartedAt') continue;
      assert.deepEqual(body[key], viaCold[key], `${example}: ${key}`);
    }
  }
});

test('node: after-fork hooks run in every forked instance (export and hearth.afterFork), not in cold ones', { skip: skip() }, async () => {
  const esm = {
    'index.mjs': `const events = [];
globalThis.hearth.afterFork(() => events.push('registered'));
export async function hearthAfterFork() {
  await new Promise((resolve) => setTimeout(resolve, 5));
  events.push('export');
}
export const handler = async () => ({ events, pid: process.pid });
`,
  };
  const cjs = {
    'index.cjs': `const events = [];
globalThis.hearth.afterFork(async () => { events.push('registered'); });
exports.hearthAfterFork = () => { events.push('export'); };
exports.handler = async () => ({ events });
`,
  };
  for (const [name, files] of [['nhooks', esm], ['nhookscjs', cjs]] as const) {
    await deployOk(fresh.url, writeFunction({ name, runtime: 'nodejs20', handler: 'index.handler' }, files));
    await deployOk(cold.url, writeFunction({ name, runtime: 'nodejs20', handler: 'index.handler' }, files));
    assert.deepEqual(((await invoke(cold.url, name)).body as { events: string[] }).events, []);
    for (const wanted of ['repurpose', 'fork']) {
      await waitNoInstances(fresh, name);
      const r = await invoke(fresh.url, name);
      assert.equal(r.headers.get('x-hearth-start-path'), wanted, r.text);
      assert.deepEqual((r.body as { events: string[] }).events, ['registered', 'export'], name);
    }
  }

  // A failing hook fails the start like an init error; the template stays.
  const failing = { 'index.mjs': 'export function hearthAfterFork() { throw new Error("no database"); }\nexport const handler = async () => 1;\n' };
  await deployOk(fresh.url, writeFunction({ name: 'nhookfails', runtime: 'nodejs20', handler: 'index.handler' }, failing));
  for (const wanted of ['repurpose', 'fork']) {
    const r = await invoke(fresh.url, 'nhookfails');
    assert.equal(r.headers.get('x-amz-function-error'), 'Unhandled', r.text);
    assert.deepEqual([(r.body as { errorType: string }).errorType, (r.body as { errorMessage: string }).errorMessage], ['Error', 'no database'], wanted);
  }
  assert.equal(fresh.hearth.templates!.residentTemplates().filter((t) => t.fn.name === 'nhookfails').length, 1);
});
