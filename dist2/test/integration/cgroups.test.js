// Cgroups on the real kernel: v1 (memory, pids, cpu, freezer on this host) and the
// v2 mechanics on whatever cgroup2 hierarchy is mounted. Needs root.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CgroupManager, detectCgroupHost } from '../../src/sandbox/cgroups.js';
const isRoot = process.getuid?.() === 0;
const host = detectCgroupHost();
const RUN = `hearth-test-cg-${process.pid}-${Date.now().toString(36)}`;
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const children = [];
after(() => {
    for (const c of children)
        if (c.exitCode === null && c.signalCode === null)
            c.kill('SIGKILL');
});
/** Starts `script` under sh, stopped until it is moved into `leaf`; returns the child and its exit. */
function startIn(leaf, script) {
    const child = spawn('/bin/sh', ['-c', `read _go; ${script}`], { stdio: ['pipe', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d.toString()));
    const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
    leaf.addProcess(child.pid);
    child.stdin.write('go\n');
    return { child, exit };
}
async function waitUntil(cond, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
        if (Date.now() > deadline)
            throw new Error('timed out waiting for condition');
        await new Promise((r) => setTimeout(r, 10));
    }
}
function noDirsLeft(manager) {
    for (const root of manager.hierarchyRoots())
        assert.equal(fs.existsSync(root), false, `${root} left behind`);
}
describe('cgroup host detection', () => {
    test('finds the controllers and a preferred version', () => {
        assert.ok(host.preferred === 'v1' || host.preferred === 'v2', `no usable cgroups: ${host.problems.join('; ')}`);
        if (host.preferred === 'v1') {
            assert.ok(host.v1.memory && host.v1.pids, 'v1 memory and pids');
            assert.ok(fs.existsSync(path.join(host.v1.memory.mountPoint, 'memory.limit_in_bytes')));
        }
        else {
            assert.ok(host.v2.controllers.includes('memory'));
        }
    });
});
const v1Skip = !isRoot ? 'needs root' : !(host.v1.memory && host.v1.pids) ? 'no cgroup v1 memory+pids on this host' : false;
describe('cgroup v1', { skip: v1Skip }, () => {
    const manager = v1Skip ? null : new CgroupManager({ version: 'v1', rootName: `${RUN}-v1` });
    after(async () => {
        if (v1Skip)
            return;
        await manager.close();
        noDirsLeft(manager);
    });
    test('start creates the root in each controller hierarchy', async () => {
        await manager.start();
        for (const root of manager.hierarchyRoots())
            assert.ok(fs.statSync(root).isDirectory(), root);
        assert.ok(manager.controllers.includes('memory') && manager.controllers.includes('pids'));
    });
    test('limits are written and read back; swap limited equal; order-safe raise and lower', () => {
        const fn = manager.createFunction('limits', { memoryMB: 512, pidsMax: 100, cpuWeight: 200 });
        assert.deepEqual(fn.readLimits(), { memoryMB: 512, swapLimited: fs.existsSync(path.join(fn.dirFor('memory'), 'memory.memsw.limit_in_bytes')) || undefined, pidsMax: 100, cpuWeight: 200 });
        const leaf = fn.createInstance('i-1', { memoryMB: 64, pidsMax: 20, cpuWeight: 50 });
        const memsw = fs.existsSync(path.join(leaf.dirFor('memory'), 'memory.memsw.limit_in_bytes'));
        assert.equal(leaf.readLimits().memoryMB, 64);
        assert.equal(leaf.readLimits().pidsMax, 20);
        assert.equal(leaf.readLimits().cpuWeight, 50);
        assert.equal(fs.readFileSync(path.join(leaf.dirFor('cpu'), 'cpu.shares'), 'utf8').trim(), '512');
        if (memsw) {
            assert.equal(leaf.readLimits().swapLimited, true);
            // Raise above the current memsw, then lower below: both orders must work.
            leaf.setLimits({ memoryMB: 256 });
            assert.equal(leaf.readLimits().memoryMB, 256);
            assert.equal(fs.readFileSync(path.join(leaf.dirFor('memory'), 'memory.memsw.limit_in_bytes'), 'utf8').trim(), String(256 * 2 ** 20));
            leaf.setLimits({ memoryMB: 32 });
            assert.equal(fs.readFileSync(path.join(leaf.dirFor('memory'), 'memory.memsw.limit_in_bytes'), 'utf8').trim(), String(32 * 2 ** 20));
        }
        // Reset to unlimited.
        leaf.setLimits({});
        assert.deepEqual({ ...leaf.readLimits(), swapLimited: undefined }, { cpuWeight: 100, swapLimited: undefined });
        assert.throws(() => leaf.setLimits({ memoryMB: 0 }), /positive integer/);
        const target = leaf.target();
        assert.equal(target.version, 'v1');
        assert.equal(target.v2Dir, null);
        assert.equal(target.procsFiles.length, manager.hierarchyRoots().length);
        for (const f of target.procsFiles)
            assert.ok(fs.existsSync(f), f);
    });
    test('a process moved in shows in cgroup.procs of every hierarchy; killAll empties; remove leaves no dirs', async () => {
        const fn = manager.createFunction('procs', {});
        const leaf = fn.createInstance('i-1', { memoryMB: 128 });
        const { child, exit } = startIn(leaf, 'sleep 60 & sleep 60 & wait');
        await waitUntil(() => leaf.pids().length >= 3);
        assert.ok(leaf.pids().includes(child.pid));
        for (const file of leaf.procsFiles)
            assert.ok(fs.readFileSync(file, 'utf8').split('\n').includes(String(child.pid)), file);
        assert.equal(leaf.populated(), true);
        assert.ok((leaf.memoryUsageBytes() ?? 0) > 0);
        await leaf.killAll();
        assert.deepEqual(leaf.pids(), []);
        assert.equal((await exit).signal, 'SIGKILL');
        const dirs = leaf.dirs;
        await fn.remove();
        for (const d of [...dirs, ...fn.dirs])
            assert.equal(fs.existsSync(d), false, d);
    });
    test('an allocating process is OOM-killed at the memory limit and the OOM is detected', async () => {
        const fn = manager.createFunction('oom', {});
        const leaf = fn.createInstance('i-1', { memoryMB: 64, pidsMax: 32 });
        assert.equal(leaf.outOfMemory(), false);
        const { exit } = startIn(leaf, `exec ${PYTHON} -c "x = bytearray(200 * 2**20); y = b'1' * (200 * 2**20); print(len(x) + len(y))"`);
        const result = await exit;
        assert.equal(result.signal, 'SIGKILL', `expected an OOM kill, got ${JSON.stringify(result)}`);
        assert.equal(leaf.outOfMemory(), true);
        const events = leaf.memoryEvents();
        assert.ok(events.oomKill >= 1, JSON.stringify(events)); // v1 failcnt stays 0 on some kernels: not asserted
        assert.ok((leaf.memoryPeakBytes() ?? 0) <= 64 * 2 ** 20 + 4096);
        // Its sibling is untouched.
        const sibling = fn.createInstance('i-2', { memoryMB: 64 });
        assert.equal(sibling.outOfMemory(), false);
        await fn.remove();
    });
    test('the pids limit stops a (bounded) fork bomb', async () => {
        const fn = manager.createFunction('forkbomb', {});
        const leaf = fn.createInstance('i-1', { pidsMax: 20 });
        startIn(leaf, 'i=0; while [ $i -lt 200 ]; do sleep 120 & i=$((i+1)); done; wait');
        await waitUntil(() => (leaf.pidsLimitHits() ?? 0) > 0);
        assert.ok(leaf.pids().length <= 20, `pids ${leaf.pids().length} exceed the limit`);
        await leaf.killAll();
        assert.deepEqual(leaf.subtreePids(), []);
        await fn.remove();
    });
    test('killAll on a group kills every leaf; a crashed run is cleaned at the next start', async () => {
        const stale = new CgroupManager({ version: 'v1', rootName: `${RUN}-stale` });
        await stale.start();
        const fn = stale.createFunction('left', { memoryMB: 256 });
        const a = fn.createInstance('a', {});
        const b = fn.createInstance('b', {});
        const pa = startIn(a, 'exec sleep 120');
        const pb = startIn(b, 'exec sleep 120');
        await waitUntil(() => a.pids().length === 1 && b.pids().length === 1);
        // "Crash": a new manager with the same root name finds the leftovers.
        const next = new CgroupManager({ version: 'v1', rootName: `${RUN}-stale` });
        await next.start();
        assert.equal(next.staleRemoved, true);
        assert.equal((await pa.exit).signal, 'SIGKILL');
        assert.equal((await pb.exit).signal, 'SIGKILL');
        assert.equal(fs.existsSync(fn.dirs[0]), false);
        await next.close();
        noDirsLeft(next);
    });
});
const v2Skip = !isRoot ? 'needs root' : !host.v2 ? 'no cgroup2 hierarchy mounted' : false;
describe('cgroup v2 mechanics', { skip: v2Skip }, () => {
    // On this host the v2 hierarchy has no memory/pids/cpu: test the mechanics, and limits where controllers exist.
    const manager = v2Skip ? null : new CgroupManager({ version: 'v2', rootName: `${RUN}-v2`, requiredControllers: [] });
    after(async () => {
        if (v2Skip)
            return;
        await manager.close();
        noDirsLeft(manager);
    });
    test('directories, cgroup.procs migration, cgroup.events populated, cgroup.kill, remove', async () => {
        await manager.start();
        assert.equal(manager.hierarchyRoots().length, 1);
        const fn = manager.createFunction('mech', { memoryMB: 256, pidsMax: 64, cpuWeight: 100 });
        const leaf = fn.createInstance('i-1', { memoryMB: 64, pidsMax: 16 });
        const target = leaf.target();
        assert.equal(target.version, 'v2');
        assert.equal(target.v2Dir, leaf.dirs[0]);
        assert.deepEqual(target.procsFiles, [path.join(leaf.dirs[0], 'cgroup.procs')]);
        assert.ok(fs.statSync(target.v2Dir).isDirectory());
        if (manager.controllers.includes('memory'))
            assert.equal(leaf.readLimits().memoryMB, 64);
        if (manager.controllers.includes('pids'))
            assert.equal(leaf.readLimits().pidsMax, 16);
        const events = path.join(leaf.dirs[0], 'cgroup.events');
        assert.match(fs.readFileSync(events, 'utf8'), /populated 0/);
        const { child, exit } = startIn(leaf, 'sleep 120 & sleep 120 & wait');
        await waitUntil(() => leaf.pids().length >= 3);
        assert.ok(leaf.pids().includes(child.pid));
        assert.match(fs.readFileSync(events, 'utf8'), /populated 1/);
        assert.match(fs.readFileSync(path.join(fn.dirs[0], 'cgroup.events'), 'utf8'), /populated 1/);
        assert.equal(leaf.populated(), true);
        assert.match(fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8'), new RegExp(`^0::.*/${RUN}-v2/fn-mech/i-1$`, 'm'));
        await fn.killAll();
        assert.equal((await exit).signal, 'SIGKILL');
        assert.match(fs.readFileSync(events, 'utf8'), /populated 0/);
        assert.deepEqual(leaf.subtreePids(), []);
        await fn.remove();
        assert.equal(fs.existsSync(fn.dirs[0]), false);
    });
});
//# sourceMappingURL=cgroups.test.js.map