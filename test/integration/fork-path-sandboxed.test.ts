// The fork and repurpose start paths inside sandboxes (the default as root): the
// template enters a pooled shell (template mode of the enter-sandbox sequence),
// each instance gets its own mount and pid namespace, /tmp, and no capabilities.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { SANDBOX_LIB_PATH } from '../../src/sandbox/native.js';
import { deployOk, invoke, newInstanceCalls, startTestHearth, writeFunction, type TestHearth } from '../helpers.js';

let h: TestHearth;
let cold: TestHearth;
const skip = (): string | false => {
  if (process.getuid?.() !== 0) return 'sandboxes need root';
  return fs.existsSync(SANDBOX_LIB_PATH) ? false : 'the sandbox library is not built (npm run build:native)';
};

before(async () => {
  if (skip()) return;
  h = await startTestHearth({ keepAliveMs: 60_000, sandbox: true });
  cold = await startTestHearth({ forkPaths: false, sandbox: true });
});
after(async () => {
  await h?.cleanup();
  await cold?.cleanup();
});

const PROBE = {
  'app.py': `import os, random, signal, time, uuid
counter = 0
instance = None
def nspid():
    return [l for l in open("/proc/self/status") if l.startswith("NSpid")][0].split()[1:]
INIT_NSPID = nspid()
with open("/tmp/from-init", "w") as f:
    f.write("written by init")
table = [i * i for i in range(1000)]

def caps():
    fields = dict(l.split(":", 1) for l in open("/proc/self/status") if l.startswith("Cap"))
    return {k: v.strip() for k, v in fields.items()}

def handler(event, context):
    global counter, instance
    counter += 1
    if instance is None:
        instance = str(uuid.uuid4())
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("write"):
        with open("/tmp/mine-%s" % event["write"], "w") as f:
            f.write("x")
    kills = {}
    for pid in event.get("kill", []):
        try:
            os.kill(pid, signal.SIGKILL)
            kills[str(pid)] = "killed"
        except OSError as e:
            kills[str(pid)] = e.__class__.__name__
    try:
        os.kill(-1, signal.SIGKILL) if event.get("killall") else None
    except OSError:
        pass
    return {"sum": sum(table), "counter": counter, "uid": os.getuid(), "gid": os.getgid(), "caps": caps(),
            "nspid": nspid(), "initNspid": INIT_NSPID, "tmp": sorted(os.listdir("/tmp")),
            "fromInit": open("/tmp/from-init").read(), "random": random.random(), "uuid": str(uuid.uuid4()),
            "kills": kills, "env": os.environ.get("GREETING"), "cwd": os.getcwd(), "instance": instance,
            "procs": sorted(p for p in os.listdir("/proc") if p.isdigit()), "timerList": len(open("/proc/timer_list").read()),
            "sysWritable": os.access("/proc/sys/kernel/hostname", os.W_OK)}
`,
};

const manifest = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, runtime: 'python3.11', handler: 'app.handler', env: { GREETING: 'hi' }, ...extra });
type Probe = { procs: string[]; timerList: number; sysWritable: boolean; instance: string; sum: number; counter: number; uid: number; gid: number; caps: Record<string, string>; nspid: string[]; initNspid: string[]; tmp: string[]; fromInit: string; random: number; uuid: string; kills: Record<string, string>; env: string; cwd: string };

test('sandboxed repurpose and fork give the same results as a sandboxed cold start', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction(manifest('sfork'), PROBE));
  await deployOk(cold.url, writeFunction(manifest('sfork'), PROBE));
  const first = await invoke(h.url, 'sfork');
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers.get('x-hearth-start-path'), 'repurpose');
  const [a, b] = await Promise.all([invoke(h.url, 'sfork', { sleep: 0.3 }), invoke(h.url, 'sfork', { sleep: 0.3 })]);
  assert.ok([a, b].some((r) => r.headers.get('x-hearth-start-path') === 'fork'), 'a concurrent call forks from the template');
  const viaCold = (await invoke(cold.url, 'sfork')).body as Probe;
  assert.equal(cold.hearth.templates, undefined);
  for (const r of [first, a, b]) {
    const body = r.body as Probe;
    assert.equal(body.sum, viaCold.sum);
    assert.equal(body.uid, viaCold.uid, 'the same uid as a cold instance');
    assert.equal(body.gid, viaCold.gid);
    assert.equal(body.env, 'hi');
    assert.equal(body.cwd, viaCold.cwd);
    assert.equal(body.fromInit, 'written by init', "init's /tmp files are there, as in a cold instance");
    // No capability at all, and an empty bounding set: exactly as a cold sandboxed instance.
    assert.deepEqual(body.caps, viaCold.caps);
    assert.equal(body.caps.CapEff, '0000000000000000');
    assert.equal(body.caps.CapBnd, '0000000000000000');
    // Its own pid namespace and /proc: pid 1 there, no other process listed; init ran in the template (another pid).
    assert.equal(body.nspid.at(-1), '1');
    assert.deepEqual(body.procs, ['1'], 'its own /proc lists only itself');
    // Its /proc is masked like a cold sandbox's.
    assert.equal(body.timerList, viaCold.timerList);
    assert.equal(body.timerList, 0);
    assert.equal(body.sysWritable, false);
    assert.notDeepEqual(body.nspid, body.initNspid);
  }
});

test('sibling instances: own /tmp (writes invisible to each other), own globals, cannot signal each other or the template', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction(manifest('sibs'), PROBE));
  const warmup = await invoke(h.url, 'sibs');
  assert.equal(warmup.status, 200, warmup.text);
  // Three concurrent instances, each writing its own file and trying to kill every pid it can name.
  const guesses = Array.from({ length: 12 }, (_, i) => i + 1);
  const results = await Promise.all([1, 2, 3].map((n) => invoke(h.url, 'sibs', { write: n, sleep: 0.4, kill: guesses.filter((p) => p !== 1) })));
  for (const r of results) assert.equal(r.status, 200, r.text);
  const bodies = results.map((r) => r.body as Probe);
  assert.ok(new Set(bodies.map((b) => b.instance)).size >= 2, 'at least two instances served the calls');
  for (const body of bodies) {
    // An instance may have served several of the calls (one after the other): it sees exactly the files it wrote.
    const written = bodies.flatMap((b, i) => (b.instance === body.instance ? [`mine-${i + 1}`] : []));
    const seen = body.tmp.filter((f) => f.startsWith('mine-'));
    assert.ok(seen.every((f) => written.includes(f)), `instance ${body.instance} sees only its own files: ${seen.join(',')} (wrote ${written.join(',')})`);
    assert.ok(Object.values(body.kills).every((k) => k === 'ProcessLookupError'), `no other process is visible to kill(): ${JSON.stringify(body.kills)}`);
  }
  // Every instance survived its siblings' attempts; a new call still works.
  const again = await invoke(h.url, 'sibs', { killall: true });
  assert.equal(again.status, 200, again.text);
  const after = await invoke(h.url, 'sibs');
  assert.equal(after.status, 200, after.text);
});

test('1000 sandboxed forks give distinct random values and UUIDs', { skip: skip() }, async () => {
  const fresh = await startTestHearth({ keepAliveMs: 0, sandbox: true });
  try {
    await deployOk(fresh.url, writeFunction(manifest('suniq'), PROBE));
    const { randoms, uuids, paths } = await newInstanceCalls(fresh, 'suniq', 1000);
    assert.equal(paths.get('fork'), 999, JSON.stringify([...paths]));
    assert.equal(randoms.size, 1000);
    assert.equal(uuids.size, 1000);
  } finally {
    await fresh.cleanup();
  }
});

test('a killed sandboxed template is re-created; a redeploy retires the old one and its shell is purged', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction(manifest('sphoenix'), PROBE));
  assert.equal((await invoke(h.url, 'sphoenix')).headers.get('x-hearth-start-path'), 'repurpose');
  const templates = h.hearth.templates!.residentTemplates().filter((t) => t.fn.name === 'sphoenix');
  assert.equal(templates.length, 1);
  const template = templates[0]!;
  assert.ok(template.sandboxedPid !== undefined && template.sandboxedPid !== template.pid, 'the template runs under its supervisor');
  process.kill(template.sandboxedPid!, 'SIGKILL');
  await h.hearth.scheduler.removeFunction('sphoenix');
  await new Promise((r) => setTimeout(r, 200));
  const again = await invoke(h.url, 'sphoenix');
  assert.equal(again.status, 200, again.text);
  assert.equal(again.headers.get('x-hearth-start-path'), 'repurpose', 'a new template was made');

  const before = h.hearth.templates!.residentTemplates().find((t) => t.fn.name === 'sphoenix')!;
  await deployOk(h.url, writeFunction(manifest('sphoenix', { env: { GREETING: 'v2' } }), PROBE));
  const v2 = await invoke(h.url, 'sphoenix');
  assert.equal((v2.body as Probe).env, 'v2');
  assert.equal(v2.headers.get('x-hearth-start-path'), 'repurpose');
  await new Promise((r) => setTimeout(r, 300));
  for (const pid of [before.pid, before.sandboxedPid!]) {
    const state = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] : 'gone';
    assert.ok(state === 'gone' || state === 'Z', `old template process ${pid} is gone (state ${state})`);
  }
});

test('init errors inside a sandboxed template are reported like cold ones', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction(manifest('sbadinit'), { 'app.py': 'raise RuntimeError("init failed here")\n' }));
  const bad = await invoke(h.url, 'sbadinit');
  assert.equal(bad.headers.get('x-amz-function-error'), 'Unhandled');
  assert.equal((bad.body as { errorType: string }).errorType, 'RuntimeError');
  assert.match((bad.body as { errorMessage: string }).errorMessage, /init failed here/);
});

test('each template keeps a spare instance forked ahead of demand; a new instance takes it and a new spare is forked', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction(manifest('sspare'), PROBE));
  assert.equal((await invoke(h.url, 'sspare')).headers.get('x-hearth-start-path'), 'repurpose');
  const template = h.hearth.templates!.residentTemplates().find((t) => t.fn.name === 'sspare')!;
  const spares = async (): Promise<number[]> => h.hearth.templates!.spareInstances().filter((i) => i.fn.name === 'sspare').map((i) => i.pid);
  for (let i = 0; i < 250 && (await spares()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  const [spare] = await spares();
  assert.ok(spare !== undefined, 'a spare was forked after the template was made');
  // The warm instance is busy: the concurrent call needs a new instance and takes the spare.
  const [busy, second] = await Promise.all([invoke(h.url, 'sspare', { sleep: 0.5 }), (async () => {
    await new Promise((r) => setTimeout(r, 100));
    return invoke(h.url, 'sspare');
  })()]);
  assert.equal(busy.status, 200, busy.text);
  assert.equal(second.headers.get('x-hearth-start-path'), 'fork');
  assert.match(second.headers.get('server-timing') ?? '', /process;dur=0\.000/, 'the spare had already been forked');
  const stats = h.hearth.scheduler.stats('sspare')[0]!;
  assert.ok(stats.instances.some((i) => i.pid === spare), 'the spare now serves calls');
  for (let i = 0; i < 250 && (await spares()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  const [next] = await spares();
  assert.ok(next !== undefined && next !== spare, 'a new spare was forked');
  assert.ok(template.alive);
});

const NODE_PROBE = {
  'index.mjs': `import crypto from 'node:crypto';
import fs from 'node:fs';
fs.writeFileSync('/tmp/from-init', 'written by init');
const initBytes = crypto.randomBytes(8).toString('hex');
let instance;
export const handler = async (event) => {
  instance ??= crypto.randomUUID();
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep * 1000));
  if (event.write) fs.writeFileSync('/tmp/mine-' + event.write, 'x');
  const status = Object.fromEntries(fs.readFileSync('/proc/self/status', 'utf8').split('\\n').filter((l) => /^(Cap|NSpid)/.test(l)).map((l) => l.split(':\\t')));
  return { instance, uid: process.getuid(), gid: process.getgid(), caps: { CapEff: status.CapEff, CapPrm: status.CapPrm, CapBnd: status.CapBnd }, nspid: status.NSpid.trim().split(/\\s+/),
    tmp: fs.readdirSync('/tmp').sort(), fromInit: fs.readFileSync('/tmp/from-init', 'utf8'), initBytes, bytes: crypto.randomBytes(16).toString('hex'), random: Math.random() };
};
`,
};

test('Node.js: sandboxed repurpose and fork; siblings differ in crypto.randomBytes and Math.random, own /tmp; same uid/caps as cold', { skip: skip() }, async () => {
  const m = { name: 'nsfork', runtime: 'nodejs20', handler: 'index.handler' };
  await deployOk(h.url, writeFunction(m, NODE_PROBE));
  await deployOk(cold.url, writeFunction(m, NODE_PROBE));
  const first = await invoke(h.url, 'nsfork');
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers.get('x-hearth-start-path'), 'repurpose');
  const results = await Promise.all([1, 2, 3].map((n) => invoke(h.url, 'nsfork', { write: n, sleep: 0.4 })));
  assert.ok(results.some((r) => r.headers.get('x-hearth-start-path') === 'fork'), 'concurrent calls fork from the template');
  const viaCold = (await invoke(cold.url, 'nsfork')).body as Record<string, unknown>;
  const bodies = [first, ...results].map((r) => {
    assert.equal(r.status, 200, r.text);
    return r.body as { instance: string; uid: number; gid: number; caps: Record<string, string>; nspid: string[]; tmp: string[]; fromInit: string; initBytes: string; bytes: string; random: number };
  });
  const byInstance = new Map(bodies.map((b) => [b.instance, b]));
  assert.ok(byInstance.size >= 2, 'at least two instances');
  const instances = [...byInstance.values()];
  // Forked from one template (the same bytes drawn at init), yet different random streams after the fork.
  assert.equal(new Set(instances.map((b) => b.initBytes)).size, 1);
  assert.equal(new Set(instances.map((b) => b.bytes)).size, instances.length, 'crypto.randomBytes differs between siblings');
  assert.equal(new Set(instances.map((b) => b.random)).size, instances.length, 'Math.random differs between siblings');
  for (const b of bodies) {
    assert.equal(b.uid, viaCold.uid);
    assert.equal(b.gid, viaCold.gid);
    assert.deepEqual(b.caps, viaCold.caps);
    assert.equal(b.caps.CapEff, '0000000000000000');
    assert.equal(b.nspid.at(-1), '1', 'pid 1 of its own pid namespace');
    assert.equal(b.fromInit, 'written by init');
    const written = bodies.flatMap((o, i) => (o.instance === b.instance && i > 0 ? [`mine-${i}`] : []));
    assert.ok(b.tmp.filter((f) => f.startsWith('mine-')).every((f) => written.includes(f)), `own /tmp only: ${b.tmp.join(',')}`);
  }
});

test('Python: siblings forked from one template differ in OpenSSL random bytes (ssl.RAND_bytes)', { skip: skip() }, async () => {
  await deployOk(h.url, writeFunction(manifest('sslrand'), { 'app.py': 'import ssl, time, uuid\nssl.RAND_bytes(8)\ninstance = None\ndef handler(e, c):\n    global instance\n    instance = instance or str(uuid.uuid4())\n    time.sleep(e.get("sleep", 0))\n    return {"instance": instance, "bytes": ssl.RAND_bytes(16).hex()}\n' }));
  await invoke(h.url, 'sslrand');
  const results = await Promise.all([1, 2, 3].map(() => invoke(h.url, 'sslrand', { sleep: 0.4 })));
  const byInstance = new Map(results.map((r) => [(r.body as { instance: string }).instance, (r.body as { bytes: string }).bytes]));
  assert.ok(byInstance.size >= 2, 'at least two instances');
  assert.equal(new Set(byInstance.values()).size, byInstance.size, 'each instance draws its own bytes');
});
