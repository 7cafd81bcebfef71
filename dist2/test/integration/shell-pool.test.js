// The sandbox shell pool on the real kernel: cgroups, network namespaces, tmpfs
// scratch, id ranges; purge leaves nothing of one tenant for the next. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CgroupManager, detectCgroupHost } from '../../src/sandbox/cgroups.js';
import { NetnsPool } from '../../src/sandbox/netns-pool.js';
import { ShellPool } from '../../src/sandbox/shell-pool.js';
import { assertHost, checkHost } from '../../src/sandbox/host-check.js';
const isRoot = process.getuid?.() === 0;
const host = detectCgroupHost();
const hasTools = ['/usr/bin/slirp4netns', '/usr/bin/nsenter'].every((f) => fs.existsSync(f)) && spawnSync('ip', ['-V']).status === 0;
const skip = !isRoot ? 'needs root' : !host.preferred ? `no usable cgroups: ${host.problems.join('; ')}` : !hasTools ? 'needs iproute2, nsenter and slirp4netns' : !fs.existsSync('/dev/shm') ? 'needs /dev/shm (tmpfs)' : false;
const TAG = `${process.pid % 100000}${Date.now().toString(36).slice(-4)}`;
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const children = [];
/** Runs `script` under sh inside the shell's cgroup and network namespace; resolves when it is in. */
function runIn(shell, script) {
    const child = spawn('nsenter', [`--net=${shell.netns.path}`, '--', '/bin/sh', '-c', `read _go; ${script}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(child);
    const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    // nsenter execs sh in the same process: move it, then let it go.
    shell.templateCgroup.addProcess(child.pid);
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
function listening(nsPath) {
    const out = execFileSync('nsenter', [`--net=${nsPath}`, '--', 'cat', '/proc/net/tcp', '/proc/net/tcp6'], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.trim().split(/\s+/)[3] === '0A');
}
async function setup(name, options) {
    const cgroups = new CgroupManager({ rootName: `hearth-test-sh-${name}-${TAG}` });
    await cgroups.start();
    const netns = new NetnsPool({ prefix: `hearth-s${name}${TAG}`, minIdle: { none: 1, egress: 1 }, maxIdle: { none: 4, egress: 2 } });
    await netns.start();
    const shells = new ShellPool({ cgroups, netns, refill: options.refill, minIdle: options.minIdle, maxIdle: options.maxIdle ?? 8 });
    await shells.start();
    return { cgroups, netns, shells };
}
async function teardown(s) {
    const cgRoots = s.cgroups.hierarchyRoots();
    const scratch = s.shells.scratchRoot;
    await s.shells.close();
    await s.netns.close();
    await s.cgroups.close();
    for (const r of cgRoots)
        assert.equal(fs.existsSync(r), false, `${r} left behind`);
    assert.equal(fs.existsSync(scratch), false, `${scratch} left behind`);
    const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.doesNotMatch(names, new RegExp(s.netns.prefix));
}
describe('host check', () => {
    test('reports each requirement with a precise message', () => {
        const result = checkHost();
        assert.equal(typeof result.ok, 'boolean');
        for (const name of ['privileges', 'cgroups', 'userns', 'ip', 'slirp4netns', 'scratch-tmpfs'])
            assert.ok(result.requirements.some((r) => r.name === name), name);
        if (!skip)
            assert.deepEqual(result.missing, [], 'this host is set up for the suite');
        const bad = checkHost({ scratchParent: '/nonexistent-hearth-dir', uidBase: 0 });
        assert.equal(bad.ok, false);
        assert.ok(bad.missing.some((m) => m.startsWith('scratch-tmpfs: /nonexistent-hearth-dir')), bad.missing.join('\n'));
        assert.ok(bad.missing.some((m) => m.startsWith('id-range:') && m.includes('root (0)')), bad.missing.join('\n'));
        assert.throws(() => assertHost({ scratchParent: '/nonexistent-hearth-dir' }), (e) => e.code === 'HEARTH_E_HOST_UNSUPPORTED' && /scratch-tmpfs/.test(e.message));
    });
});
describe('shell pool', { skip }, () => {
    let a;
    let b;
    before(async () => {
        a = await setup('a', { refill: true, minIdle: 2 });
        b = await setup('b', { refill: false, minIdle: 0, maxIdle: 1 });
    });
    after(async () => {
        for (const c of children)
            if (c.exitCode === null && c.signalCode === null)
                c.kill('SIGKILL');
        if (a)
            await teardown(a);
        if (b)
            await teardown(b);
    });
    test('acquire from the pool applies the function limits and hands out cgroup, netns, scratch, id range', async () => {
        assert.equal(a.shells.stats().idle, 2);
        const shell = await a.shells.acquire({ netKind: 'none', memoryMB: 64, pidsMax: 32, cpuWeight: 50 });
        assert.equal(shell.timings.fromPool, true);
        assert.ok(shell.timings.totalMs >= 0);
        const limits = shell.templateCgroup.readLimits();
        assert.equal(limits.memoryMB, 64);
        assert.equal(limits.pidsMax, 32);
        if (a.cgroups.controllers.includes('cpu'))
            assert.equal(shell.cgroup.readLimits().cpuWeight, 50);
        assert.equal(shell.cgroup.readLimits().memoryMB, undefined, 'no group cap unless asked');
        const instance = shell.createInstanceCgroup('i-1');
        assert.deepEqual([instance.readLimits().memoryMB, instance.readLimits().pidsMax], [64, 32]);
        assert.ok(instance.dirs[0].startsWith(shell.cgroup.dirs[0]));
        assert.equal(shell.netns.kind, 'none');
        assert.ok(fs.existsSync(shell.netns.path));
        assert.equal(shell.ids.uid, 100000 + 65536 * shell.index);
        assert.equal(shell.ids.count, 65536);
        for (const d of [shell.scratch.dir, shell.scratch.upper, shell.scratch.work, shell.scratch.tmp]) {
            const st = fs.statSync(d);
            assert.ok(st.isDirectory(), d);
            assert.equal(st.uid, shell.ids.uid, `${d} owner`);
        }
        assert.equal(Number(fs.statfsSync(shell.scratch.upper).type), 0x01021994, 'scratch on tmpfs');
        for (const f of shell.templateCgroup.target().procsFiles)
            assert.ok(fs.existsSync(f));
        const other = await a.shells.acquire({ netKind: 'egress', memoryMB: 128 });
        assert.equal(other.netns.kind, 'egress');
        assert.notEqual(other.index, shell.index);
        assert.notEqual(other.ids.uid, shell.ids.uid);
        assert.ok(other.ids.uid >= shell.ids.uid + 65536 || shell.ids.uid >= other.ids.uid + 65536, 'id ranges do not overlap');
        assert.notEqual(other.scratch.dir, shell.scratch.dir);
        assert.notEqual(other.netns.path, shell.netns.path);
        assert.notEqual(other.cgroup.dirs[0], shell.cgroup.dirs[0]);
        assert.equal(await a.shells.purge(shell), 'pooled');
        assert.equal(await a.shells.purge(other), 'pooled');
        await assert.rejects(a.shells.purge(other), /not in use/);
    });
    test('purge kills every process, discards the writable layer, resets cgroup and netns for the next function', async () => {
        const first = await b.shells.acquire({ netKind: 'egress', memoryMB: 64, pidsMax: 16 });
        assert.equal(first.timings.fromPool, false);
        // Tenant 1: leaves files, a listening socket, background processes, and an OOM.
        fs.writeFileSync(path.join(first.scratch.upper, 'secret'), 'tenant-1');
        fs.writeFileSync(path.join(first.scratch.tmp, 'secret'), 'tenant-1');
        const server = runIn(first, `exec ${process.execPath} -e "require('net').createServer().listen(7777,'0.0.0.0')"`);
        const sleeper = runIn(first, 'sleep 300 & sleep 300 & wait');
        await waitUntil(() => listening(first.netns.path).length > 0 && first.templateCgroup.pids().length >= 4);
        const oom = runIn(first, `exec ${PYTHON} -c "x = b'1' * (200 * 2**20)"`);
        assert.equal(await oom.exit, 'SIGKILL');
        assert.equal(first.templateCgroup.outOfMemory(), true);
        // An instance forked from the template lives in its own leaf of the shell.
        const instanceLeaf = first.createInstanceCgroup('i-7');
        const inst = spawn('/bin/sh', ['-c', 'read _go; exec sleep 300'], { stdio: ['pipe', 'ignore', 'ignore'] });
        children.push(inst);
        const instExit = new Promise((resolve) => inst.on('exit', (_c, sig) => resolve(sig)));
        instanceLeaf.addProcess(inst.pid);
        inst.stdin.write('go\n');
        const pids = first.cgroup.subtreePids();
        const oldDirs = [...first.cgroup.dirs, ...instanceLeaf.dirs];
        assert.equal(await b.shells.purge(first), 'pooled');
        assert.equal(await server.exit, 'SIGKILL');
        assert.equal(await sleeper.exit, 'SIGKILL');
        assert.equal(await instExit, 'SIGKILL');
        assert.throws(() => first.createInstanceCgroup('i-8'), /purged/);
        for (const pid of pids)
            assert.equal(fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), false, `pid ${pid} survived`);
        for (const d of oldDirs)
            assert.equal(fs.existsSync(d), false, `old cgroup ${d} left`);
        // Tenant 2 gets the same shell (the only idle one), with its own limits and nothing of tenant 1.
        const second = await b.shells.acquire({ netKind: 'egress', memoryMB: 256 });
        assert.equal(second.timings.fromPool, true);
        assert.equal(second.index, first.index);
        assert.equal(second.uses, 2);
        assert.deepEqual(fs.readdirSync(second.scratch.upper), []);
        assert.deepEqual(fs.readdirSync(second.scratch.tmp), []);
        assert.deepEqual(second.cgroup.subtreePids(), []);
        assert.deepEqual(second.cgroup.instances().map((i) => i.id), ['template']);
        assert.equal(second.templateCgroup.outOfMemory(), false, 'OOM counters do not carry over');
        const limits = second.templateCgroup.readLimits();
        assert.equal(limits.memoryMB, 256);
        assert.equal(limits.pidsMax, undefined, 'pids limit of the previous function is gone');
        assert.deepEqual(listening(second.netns.path), []);
        await b.shells.purge(second);
    });
    test('a pids limit from the function holds inside the shell (bounded fork bomb)', async () => {
        const shell = await b.shells.acquire({ netKind: 'none', memoryMB: 128, pidsMax: 12 });
        runIn(shell, 'i=0; while [ $i -lt 100 ]; do sleep 300 & i=$((i+1)); done; wait');
        await waitUntil(() => (shell.templateCgroup.pidsLimitHits() ?? 0) > 0);
        assert.ok(shell.templateCgroup.pids().length <= 12);
        assert.equal(await b.shells.purge(shell), 'pooled');
    });
    test('the pool refills in the background and its target follows demand', async () => {
        const held = [];
        for (let i = 0; i < 8; i++)
            held.push(await a.shells.acquire({ netKind: 'none', memoryMB: 64 }));
        assert.ok(a.shells.stats().target > 2, JSON.stringify(a.shells.stats()));
        await waitUntil(() => a.shells.stats().idle >= 2);
        for (const s of held)
            await a.shells.purge(s);
        assert.ok(a.shells.stats().idle <= 8);
    });
    test('destroy removes a shell for good; close() removes everything, including shells still in use', async () => {
        const gone = await b.shells.acquire({ netKind: 'none', memoryMB: 64 });
        const dir = gone.scratch.dir;
        const nsPath = gone.netns.path;
        await b.shells.destroy(gone);
        assert.equal(fs.existsSync(dir), false);
        assert.equal(fs.existsSync(nsPath), false);
        const inUse = await a.shells.acquire({ netKind: 'egress', memoryMB: 64 });
        const running = runIn(inUse, 'exec sleep 300');
        await waitUntil(() => inUse.templateCgroup.pids().length === 1);
        const cgroups = a;
        a = undefined;
        await teardown(cgroups);
        assert.equal(await running.exit, 'SIGKILL');
    });
});
//# sourceMappingURL=shell-pool.test.js.map