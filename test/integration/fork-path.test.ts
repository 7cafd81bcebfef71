// The fork and repurpose start paths (zygote → template → instance), Python.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { NATIVE_ADDON_PATH } from '../../src/sandbox/native.js';
import { after, before, test } from 'node:test';
import { deployOk, invoke, newInstanceCalls, startTestHearth, writeFunction, type TestHearth } from '../helpers.js';

let h: TestHearth;
let cold: TestHearth;
before(async () => {
  // The fork paths are not sandboxed yet, so they run only with sandboxes off.
  h = await startTestHearth({ keepAliveMs: 60_000, sandbox: false });
  cold = await startTestHearth({ forkPaths: false, sandbox: false });
});
after(async () => {
  await h.cleanup();
  await cold.cleanup();
});

const skip = (): string | false => (fs.existsSync(NATIVE_ADDON_PATH) ? false : 'the native addon is not built (npm run build:native): no fork path');

const STATEFUL = {
  'app.py': `import os, random, uuid
counter = 0
init_pid = os.getpid()
table = [i * i for i in range(1000)]
def handler(event, context):
    global counter
    counter += 1
    path = "/tmp/sibling-%d" % os.getpid()
    seen = sorted(f for f in os.listdir("/tmp") if f.startswith("sibling-"))
    if event.get("write"):
        open(path, "w").write("x")
    return {"sum": sum(table), "counter": counter, "random": random.random(), "uuid": str(uuid.uuid4()),
            "pid": os.getpid(), "initPid": init_pid, "fn": context.function_name, "env": os.environ.get("GREETING")}
`,
};

test('repurpose, then fork; the same results as a cold start', { skip: skip() }, async () => {
  const manifest = { name: 'forky', runtime: 'python3.11', handler: 'app.handler', env: { GREETING: 'hi' } };
  await deployOk(h.url, writeFunction(manifest, STATEFUL));
  await deployOk(cold.url, writeFunction(manifest, STATEFUL));

  const first = await invoke(h.url, 'forky');
  assert.equal(first.headers.get('x-hearth-start-path'), 'repurpose');
  // A second instance while the first is busy... is not needed: a concurrent call forks from the template.
  const [a, b] = await Promise.all([invoke(h.url, 'forky'), invoke(h.url, 'forky')]);
  const paths = [a.headers.get('x-hearth-start-path'), b.headers.get('x-hearth-start-path')].sort();
  assert.ok(paths.includes('fork') || paths.every((p) => p === 'warm'), `paths: ${paths.join(',')}`);

  const viaCold = (await invoke(cold.url, 'forky')).body as Record<string, unknown>;
  assert.equal(cold.hearth.templates, undefined);
  for (const r of [first, a, b]) {
    const body = r.body as Record<string, unknown>;
    assert.equal(body.sum, viaCold.sum);
    assert.equal(body.fn, viaCold.fn);
    assert.equal(body.env, 'hi');
    // Init ran in the template, not in the instance.
    assert.notEqual(body.pid, body.initPid);
  }
});

test('forked instances do not share state written by a sibling (globals); init runs once per template', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction({ name: 'siblings', runtime: 'python3.11', handler: 'app.handler', concurrency: 4 }, STATEFUL));
  // Four concurrent calls → instances forked from the same template.
  const results = await Promise.all(Array.from({ length: 4 }, () => invoke(h.url, 'siblings', { write: true })));
  const bodies = results.map((r) => r.body as { counter: number; pid: number; initPid: number });
  assert.equal(new Set(bodies.map((b) => b.pid)).size, 4);
  assert.equal(new Set(bodies.map((b) => b.initPid)).size, 1, 'all forked from one template');
  for (const body of bodies) assert.equal(body.counter, 1, 'each instance has its own copy of the globals');
});

test('1000 forks give 1000 distinct random sequences and UUIDs', { skip: skip() }, async () => {
  const fresh = await startTestHearth({ keepAliveMs: 0, sandbox: false });
  try {
    await deployOk(fresh.url, writeFunction({ name: 'uniq', runtime: 'python3.11', handler: 'app.handler' }, STATEFUL));
    const { randoms, uuids, paths } = await newInstanceCalls(fresh, 'uniq', 1000);
    assert.equal(paths.get('fork'), 999, JSON.stringify([...paths]));
    assert.equal(randoms.size, 1000);
    assert.equal(uuids.size, 1000);
  } finally {
    await fresh.cleanup();
  }
});

test('a crashed template is re-created and the call succeeds; a killed zygote is restarted', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction({ name: 'phoenix', runtime: 'python3.11', handler: 'app.handler' }, STATEFUL));
  const first = await invoke(h.url, 'phoenix');
  assert.equal(first.headers.get('x-hearth-start-path'), 'repurpose');
  const templatePid = (first.body as { initPid: number }).initPid;
  process.kill(templatePid, 'SIGKILL');
  await h.hearth.scheduler.removeFunction('phoenix'); // drop the warm instance too
  await new Promise((r) => setTimeout(r, 100));
  const again = await invoke(h.url, 'phoenix');
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('x-hearth-start-path'), 'repurpose', 'a new template was made');
  assert.notEqual((again.body as { initPid: number }).initPid, templatePid);

  const zygote = h.hearth.templates!.zygotes.get('python3.11')!;
  const startsBefore = zygote.starts;
  process.kill(zygote.pid!, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  await h.hearth.scheduler.removeFunction('phoenix');
  h.hearth.templates!.retire('phoenix');
  const afterZygote = await invoke(h.url, 'phoenix');
  assert.equal(afterZygote.status, 200, afterZygote.text);
  assert.equal(zygote.starts, startsBefore + 1, 'the zygote was restarted');
});

test('a new version retires the old template; init errors and crashes are reported like cold ones', { skip: skip() }, async () => {
  const dir = writeFunction({ name: 'evolving', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'import os\ninit_pid = os.getpid()\ndef handler(e, c):\n    if e.get("exit"):\n        os._exit(e["exit"])\n    return ["v1", init_pid]\n' });
  await deployOk(h.url, dir);
  const v1 = (await invoke(h.url, 'evolving')).body as [string, number];
  assert.equal(v1[0], 'v1');
  const crash = await invoke(h.url, 'evolving', { exit: 4 });
  assert.deepEqual(crash.body, { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error: exit status 4' });
  assert.equal((await invoke(h.url, 'evolving')).headers.get('x-hearth-start-path'), 'fork');

  await deployOk(h.url, writeFunction({ name: 'evolving', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'import os\ninit_pid = os.getpid()\ndef handler(e, c):\n    return ["v2", init_pid]\n' }));
  const v2 = await invoke(h.url, 'evolving');
  assert.equal((v2.body as [string, number])[0], 'v2');
  assert.equal(v2.headers.get('x-hearth-start-path'), 'repurpose');
  assert.throws(() => process.kill(v1[1], 0), /ESRCH/, 'the old template is gone');

  await deployOk(h.url, writeFunction({ name: 'badinit', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'raise RuntimeError("init failed here")\n' }));
  const bad = await invoke(h.url, 'badinit');
  assert.equal(bad.headers.get('x-amz-function-error'), 'Unhandled');
  assert.equal((bad.body as { errorType: string }).errorType, 'RuntimeError');
  assert.match((bad.body as { errorMessage: string }).errorMessage, /init failed here/);
});
