// Shell-acquire cost: a function-agnostic sandbox shell (leaf cgroup with the
// function's limits + network namespace + tmpfs scratch + id range) taken from the
// pool vs created from scratch, for both network kinds, in one run.
// Needs root, iproute2, util-linux and slirp4netns.
// With crun installed, also: a crun container (same isolation kinds: cgroup limits,
// network/mount/pid/ipc/uts namespaces, read-only root) running /bin/true, created,
// run and deleted per sample — what a container-per-sandbox design pays instead.
// Usage: npm run build && node dist/bench/shell-acquire.js [--runs N]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CgroupManager } from '../src/sandbox/cgroups.js';
import { NetnsPool } from '../src/sandbox/netns-pool.js';
import { ShellPool } from '../src/sandbox/shell-pool.js';
import { machine, markdownTable, summarize, writeResults } from './lib/stats.js';
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg !== -1 ? Number(process.argv[runsArg + 1]) : 1000;
const TAG = `${process.pid}`;
const SCENARIOS = [
    { name: 'pool, network none', source: 'pool', netKind: 'none' },
    { name: 'scratch, network none', source: 'scratch', netKind: 'none' },
    { name: 'pool, network egress', source: 'pool', netKind: 'egress' },
    { name: 'scratch, network egress', source: 'scratch', netKind: 'egress' },
];
async function runScenario(s, index) {
    const pooled = s.source === 'pool';
    const cgroups = new CgroupManager({ rootName: `hearth-bench-${TAG}-${index}` });
    await cgroups.start();
    const netns = new NetnsPool({ prefix: `hearth-b${TAG}x${index}`, refill: pooled, minIdle: { none: pooled ? 2 : 0, egress: pooled ? 2 : 0 }, maxIdle: { none: pooled ? 8 : 0, egress: pooled ? 4 : 0 } });
    await netns.start();
    const shells = new ShellPool({ cgroups, netns, refill: pooled, minIdle: pooled ? 2 : 0, maxIdle: pooled ? 8 : 0 });
    await shells.start();
    const acquire = [];
    const shellPart = [];
    const netnsPart = [];
    const limitsPart = [];
    const giveBack = [];
    let asIntended = 0;
    try {
        for (let i = 0; i < RUNS; i++) {
            const t0 = performance.now();
            const shell = await shells.acquire({ netKind: s.netKind, memoryMB: 128 + (i % 4) * 64, pidsMax: 64, cpuWeight: 100 });
            acquire.push(performance.now() - t0);
            shellPart.push(shell.timings.shellMs);
            netnsPart.push(shell.timings.netnsMs);
            limitsPart.push(shell.timings.limitsMs);
            if ((shell.timings.fromPool && shell.timings.netnsFromPool) === pooled)
                asIntended++;
            const t1 = performance.now();
            if (pooled)
                await shells.purge(shell);
            else
                await shells.destroy(shell);
            giveBack.push(performance.now() - t1);
        }
    }
    finally {
        await shells.close();
        await netns.close();
        await cgroups.close();
    }
    return { name: s.name, source: s.source, netKind: s.netKind, acquire: summarize(acquire), shellPart: summarize(shellPart), netnsPart: summarize(netnsPart), limitsPart: summarize(limitsPart), giveBack: summarize(giveBack), asIntended };
}
const CRUN = '/usr/bin/crun';
function crunConfig() {
    const bind = (p) => ({ destination: p, type: 'bind', source: p, options: ['rbind', 'ro', 'nosuid', 'nodev'] });
    return {
        ociVersion: '1.0.2',
        process: { terminal: false, user: { uid: 65534, gid: 65534 }, args: ['/bin/true'], env: ['PATH=/usr/bin:/bin'], cwd: '/', capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] }, noNewPrivileges: true },
        root: { path: 'rootfs', readonly: true },
        hostname: 'fn',
        mounts: [
            { destination: '/proc', type: 'proc', source: 'proc' },
            { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
            { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'] },
            bind('/usr'),
        ],
        linux: {
            namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
            resources: { memory: { limit: 128 * 1024 * 1024 }, pids: { limit: 64 } },
        },
    };
}
/** crun run of /bin/true per sample (in a private mount namespace without the v2 hierarchy, as on this hybrid host). */
async function runCrun() {
    if (!fs.existsSync(CRUN) || spawnSync(CRUN, ['--version']).status !== 0)
        return null;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-crun-'));
    const bundle = path.join(work, 'bundle');
    const rootfs = path.join(bundle, 'rootfs');
    for (const d of ['proc', 'dev', 'tmp', 'usr'])
        fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    for (const [link, target] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']])
        fs.symlinkSync(target, path.join(rootfs, link));
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(crunConfig()));
    const hideUnified = fs.existsSync('/sys/fs/cgroup/unified') && fs.existsSync('/sys/fs/cgroup/memory');
    const samples = [];
    try {
        for (let i = 0; i < RUNS; i++) {
            const id = `hearth-bench-${TAG}-${i}`;
            const args = ['run', '--bundle', bundle, id];
            const t0 = performance.now();
            const code = await new Promise((resolve) => {
                const child = hideUnified
                    ? spawn('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', 'umount /sys/fs/cgroup/unified && exec "$0" "$@"', CRUN, ...args], { stdio: 'ignore' })
                    : spawn(CRUN, args, { stdio: 'ignore' });
                child.on('exit', (c) => resolve(c));
            });
            samples.push(performance.now() - t0);
            if (code !== 0) {
                spawnSync(CRUN, ['delete', '--force', id]);
                throw new Error(`crun run exited ${code}`);
            }
        }
    }
    finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
    return { name: 'crun container (create, run /bin/true, delete)', run: summarize(samples) };
}
async function main() {
    if (process.getuid?.() !== 0)
        throw new Error('bench/shell-acquire needs root (cgroups, network namespaces)');
    const results = [];
    for (const [i, s] of SCENARIOS.entries()) {
        process.stderr.write(`shell-acquire: ${s.name} x ${RUNS}\n`);
        results.push(await runScenario(s, i));
    }
    process.stderr.write(`shell-acquire: crun x ${RUNS}\n`);
    const crun = await runCrun().catch((error) => {
        process.stderr.write(`crun comparison skipped: ${error.message}\n`);
        return null;
    });
    const cgroupVersion = new CgroupManager({ rootName: 'hearth-bench-probe' }).version;
    const header = ['scenario', 'acquire P50 ms', 'acquire P99 ms', 'cgroup+scratch P50', 'netns P50', 'netns P99', 'limits P50', 'give back P50 ms', 'give back P99 ms', 'as intended'];
    const rows = results.map((r) => [r.name, r.acquire.p50, r.acquire.p99, r.shellPart.p50, r.netnsPart.p50, r.netnsPart.p99, r.limitsPart.p50, r.giveBack.p50, r.giveBack.p99, `${r.asIntended}/${r.acquire.n}`]);
    if (crun)
        rows.push([crun.name, crun.run.p50, crun.run.p99, '-', '-', '-', '-', '(included)', '(included)', `${crun.run.n}/${crun.run.n}`]);
    const markdown = [
        '# Shell acquire: from the pool vs from scratch',
        '',
        `${RUNS} acquires per scenario, one at a time, on cgroup ${cgroupVersion}. "acquire" is what a start pays: a shell with the function's limits and a network namespace of the kind asked.`,
        '"give back" is off the request path: purge (kill, new leaf cgroup, wipe scratch, check/reset the netns) for the pool; destroy for scratch.',
        'Egress namespaces are wired by slirp4netns (user-mode networking; no host sysctl, NAT or firewall change).',
        'The crun row is a whole container lifecycle for /bin/true (namespaces incl. network without egress, cgroup limits, read-only root, process run and teardown), spawned through unshare to hide the v2 hierarchy on hybrid hosts.',
        '',
        markdownTable(header, rows),
        '',
        `Machine: ${JSON.stringify(machine())}`,
    ].join('\n');
    writeResults('shell-acquire', { runs: RUNS, cgroupVersion, machine: machine(), date: new Date().toISOString(), results, crun }, markdown);
    process.stdout.write(`${markdown}\n`);
}
main().catch((error) => {
    process.stderr.write(`${error.stack ?? String(error)}\n`);
    process.exitCode = 1;
});
//# sourceMappingURL=shell-acquire.js.map