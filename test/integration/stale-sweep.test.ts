// The start-up sweep (src/sandbox/stale-sweep.ts): a hearth killed with SIGKILL
// leaves cgroups, network namespaces and scratch behind; the next hearth to start on
// this host (with another data directory) removes them, and never touches the
// resources of a hearth that is still running. Real processes, real kernel; root.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { CgroupManager } from '../../src/sandbox/cgroups.js';
import { OWNERS_DIR, sweepStale } from '../../src/sandbox/stale-sweep.js';
import { deployOk, invoke, REPO, startTestHearth, tempDir, writeFunction, type TestHearth } from '../helpers.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !fs.existsSync('/usr/bin/slirp4netns') ? 'needs slirp4netns' : false;

function rootNameOf(dataDir: string): string {
  return `hearth-${crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12)}`;
}

/** Everything a hearth on `dataDir` has on the host now. */
function resourcesOf(dataDir: string): { cgroupRoots: string[]; netns: string[]; scratch: boolean; record: boolean } {
  const rootName = rootNameOf(dataDir);
  const prefix = `hearth${rootName.slice('hearth-'.length, 'hearth-'.length + 8)}-`;
  const roots = new CgroupManager({ rootName }).hierarchyRoots();
  return {
    cgroupRoots: roots.filter((r) => fs.existsSync(r)),
    netns: fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns').filter((n) => n.startsWith(prefix)) : [],
    scratch: fs.existsSync(`/dev/shm/${rootName}-shells`),
    record: fs.existsSync(path.join(OWNERS_DIR, `${rootName}.json`)),
  };
}

function startChildHearth(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'hearth.js'), 'up', '--port', String(port), '--data', dataDir, '--json-logs'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HEARTH_SANDBOX: '1' } });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('hearth is up')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`hearth exited with ${code}: ${output}`)));
  });
}

function alive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A leaf directory (relative to the root) in the first hierarchy. */
function someLeaf(root: string): string {
  let dir = root;
  for (;;) {
    const sub = fs.readdirSync(dir, { withFileTypes: true }).find((e) => e.isDirectory());
    if (!sub) return path.relative(root, dir);
    dir = path.join(dir, sub.name);
  }
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

test("a SIGKILLed hearth's leftovers are removed by the next hearth; a live hearth's are not touched", { skip, timeout: 180_000 }, async () => {
  const deadDir = tempDir('sweep-dead');
  const liveDir = tempDir('sweep-live');
  let live: ChildProcess | undefined;
  let next: TestHearth | undefined;
  let dead: ChildProcess | undefined;
  let stray: ChildProcess | undefined;
  try {
    // The third hearth: another process, running during the whole test, with instances of both network kinds.
    const livePort = 20000 + Math.floor(Math.random() * 20000);
    live = await startChildHearth(liveDir, livePort);
    const liveUrl = `http://127.0.0.1:${livePort}`;
    for (const network of ['none', 'egress']) {
      await deployOk(liveUrl, writeFunction({ name: `live-${network}`, runtime: 'python3.11', handler: 'app.handler', network }, { 'app.py': 'def handler(e, c):\n    return "live"\n' }));
      assert.equal((await invoke(liveUrl, `live-${network}`)).body, 'live');
    }
    const liveBefore = resourcesOf(liveDir);
    assert.ok(liveBefore.cgroupRoots.length > 0 && liveBefore.netns.length > 0 && liveBefore.scratch && liveBefore.record, JSON.stringify(liveBefore));

    // The hearth that dies: a separate process with instances (an egress one too), then SIGKILL.
    const port = livePort + 1;
    dead = await startChildHearth(deadDir, port);
    const url = `http://127.0.0.1:${port}`;
    for (const network of ['none', 'egress']) {
      await deployOk(url, writeFunction({ name: `dead-${network}`, runtime: 'python3.11', handler: 'app.handler', network }, { 'app.py': 'def handler(e, c):\n    return "doomed"\n' }));
      assert.equal((await invoke(url, `dead-${network}`)).body, 'doomed');
    }
    const exited = new Promise((r) => dead!.once('exit', r));
    dead.kill('SIGKILL');
    await exited;
    const left = resourcesOf(deadDir);
    assert.ok(left.cgroupRoots.length > 0, 'the dead hearth left its cgroups');
    assert.ok(left.netns.length > 0, 'the dead hearth left network namespaces');
    assert.ok(left.scratch, 'the dead hearth left its scratch directory');
    assert.ok(left.record, 'and its owner record');
    // A process still inside the dead hearth's cgroups (as a tenant's escaped child would be).
    stray = spawn('sleep', ['600'], { stdio: 'ignore' });
    const leaf = someLeaf(left.cgroupRoots[0]!);
    for (const root of left.cgroupRoots) fs.writeFileSync(path.join(root, leaf, 'cgroup.procs'), String(stray.pid));

    // The next hearth, on another data directory, sweeps at start-up.
    next = await startTestHearth({ sandbox: true });
    assert.deepEqual(resourcesOf(deadDir), { cgroupRoots: [], netns: [], scratch: false, record: false }, 'the dead hearth left nothing');
    for (let i = 0; i < 100 && alive(stray.pid!); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(stray.pid!), false, 'the process left in its cgroups was killed');

    // The live hearth kept everything and still serves calls (warm and new instances).
    const liveAfter = resourcesOf(liveDir);
    assert.deepEqual(liveAfter.cgroupRoots, liveBefore.cgroupRoots);
    assert.ok(liveAfter.netns.length > 0, `live namespaces: ${JSON.stringify(liveAfter.netns)}`);
    assert.ok(liveAfter.scratch && liveAfter.record);
    for (const network of ['none', 'egress']) assert.equal((await invoke(liveUrl, `live-${network}`)).body, 'live');
    await deployOk(liveUrl, writeFunction({ name: 'live-new', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'def handler(e, c):\n    return "new"\n' }));
    assert.equal((await invoke(liveUrl, 'live-new')).body, 'new');

    // A clean stop removes the record too: nothing for a sweeper.
    const nextDir = next.dataDir;
    await next.cleanup();
    next = undefined;
    assert.deepEqual(resourcesOf(nextDir), { cgroupRoots: [], netns: [], scratch: false, record: false });
    await stopChild(live);
    assert.deepEqual(resourcesOf(liveDir), { cgroupRoots: [], netns: [], scratch: false, record: false });
  } finally {
    dead?.kill('SIGKILL');
    stray?.kill('SIGKILL');
    await next?.cleanup();
    await stopChild(live);
    // Whatever happened above: the dead hearth's leftovers do not outlive the test.
    await sweepStale();
  }
});

test('the owner lock decides, not the pid; a record pointing outside cgroupfs is refused', { skip }, async () => {
  const dir = tempDir('owners');
  const rootName = `hearth-${crypto.randomBytes(6).toString('hex')}`;
  const cgroupRoot = new CgroupManager({ rootName }).hierarchyRoots()[0]!;
  const bait = tempDir('bait');
  const badName = `hearth-${crypto.randomBytes(6).toString('hex')}`;
  let lock: net.Server | undefined;
  try {
    fs.mkdirSync(path.join(cgroupRoot, 'g', 'leaf'), { recursive: true });
    // A record whose pid is dead (pid 0x7ffffff0 does not exist), but whose lock is held: alive.
    const record = { rootName, cgroupRoots: [cgroupRoot], netnsPrefix: `hearth${rootName.slice(7, 15)}`, scratchDirs: [`/dev/shm/${rootName}-shells`], pid: 0x7ffffff0, startTime: '1', netns: Number(fs.statSync('/proc/self/ns/net').ino), dataDir: '/nonexistent', createdAt: new Date().toISOString() };
    fs.writeFileSync(path.join(dir, `${rootName}.json`), JSON.stringify(record));
    // A record pointing the sweep at a directory that is not a hearth cgroup.
    // (Well-formed names, but its "cgroup root" is an ordinary directory: refused before anything is removed.)
    fs.writeFileSync(path.join(dir, `${badName}.json`), JSON.stringify({ ...record, rootName: badName, cgroupRoots: [path.join(bait, badName)], scratchDirs: [`/dev/shm/${badName}-shells`], netnsPrefix: `hearth${badName.slice(7, 15)}` }));
    fs.mkdirSync(path.join(bait, badName));
    lock = net.createServer();
    await new Promise<void>((resolve) => lock!.listen(`\0hearth-owner/${rootName}`, resolve));
    const held = await sweepStale({ ownersDir: dir });
    assert.deepEqual(held.swept, []);
    assert.ok(held.live.includes(rootName));
    assert.ok(fs.existsSync(path.join(cgroupRoot, 'g', 'leaf')), 'a locked owner keeps its cgroups');
    await new Promise<void>((resolve) => lock!.close(() => resolve()));
    lock = undefined;
    const freed = await sweepStale({ ownersDir: dir });
    assert.deepEqual(freed.swept, [rootName]);
    assert.equal(fs.existsSync(cgroupRoot), false, 'the dead owner\'s cgroups are removed');
    assert.equal(fs.existsSync(path.join(dir, `${rootName}.json`)), false);
    assert.ok(freed.errors.some((e) => e.includes(badName)), JSON.stringify(freed.errors));
    assert.ok(fs.existsSync(path.join(bait, badName)) && fs.existsSync(path.join(dir, `${badName}.json`)), 'the bad record and its bait are untouched');
  } finally {
    if (lock) await new Promise<void>((resolve) => lock!.close(() => resolve()));
    for (const d of [path.join(cgroupRoot, 'g', 'leaf'), path.join(cgroupRoot, 'g'), cgroupRoot]) {
      try {
        fs.rmdirSync(d);
      } catch {
        /* already removed by the sweep */
      }
    }
  }
});
