// Baseline: a container per new instance, started with crun (the faasd/OpenWhisk
// model), running the same runtime bootstrap and protocol as hearth's instances.
// Implements InstanceStarter so it runs behind hearth's own scheduler and API.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { coldInstanceFromChild, processExit } from '../../src/instances/cold-start.js';
import { instanceEnvironment } from '../../src/instances/starter.js';
function bind(source, destination, readOnly = true) {
    return { destination, type: 'bind', source, options: ['rbind', readOnly ? 'ro' : 'rw', 'nosuid', 'nodev'] };
}
/** An OCI config for one instance: read-only host /usr as the runtime, the function's code at /var/task. */
export function ociConfig(fn, runtimeDir) {
    const taskRoot = '/var/task';
    const env = instanceEnvironment(fn, taskRoot);
    const args = fn.manifest.runtime === 'nodejs20'
        ? ['/usr/bin/node', '/opt/hearth/runtime/node/bootstrap.mjs']
        : ['/usr/bin/python3', '-X', 'utf8', '/opt/hearth/runtime/python/bootstrap.py'];
    return {
        ociVersion: '1.0.2',
        process: {
            terminal: false,
            user: { uid: 65534, gid: 65534 },
            args,
            env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
            cwd: taskRoot,
            capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
            rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
            noNewPrivileges: true,
        },
        root: { path: 'rootfs', readonly: true },
        hostname: 'fn',
        mounts: [
            { destination: '/proc', type: 'proc', source: 'proc' },
            { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
            { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'] },
            bind('/usr', '/usr'),
            bind('/etc/ssl', '/etc/ssl'),
            bind('/etc/alternatives', '/etc/alternatives'),
            bind(fn.codeDir, taskRoot),
            bind(runtimeDir, '/opt/hearth/runtime'),
        ],
        linux: {
            namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
            resources: { memory: { limit: fn.manifest.memoryMB * 1024 * 1024 }, pids: { limit: 256 } },
            maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware'],
            readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
        },
    };
}
export class CrunStarter {
    options;
    path = 'cold';
    crun;
    globalArgs;
    constructor(options) {
        this.options = options;
        this.crun = options.binary ?? '/usr/bin/crun';
        this.globalArgs = options.globalArgs ?? [];
        fs.mkdirSync(options.workDir, { recursive: true });
    }
    static available(crunBinary = '/usr/bin/crun') {
        return spawnSync(crunBinary, ['--version']).status === 0 && process.getuid?.() === 0;
    }
    canStart() {
        return true;
    }
    async start(fn) {
        const t0 = performance.now();
        const id = `hearth-bench-${crypto.randomBytes(6).toString('hex')}`;
        const bundle = path.join(this.options.workDir, id);
        const rootfs = path.join(bundle, 'rootfs');
        for (const dir of ['proc', 'dev', 'tmp', 'usr', 'etc/ssl', 'etc/alternatives', 'var/task', 'opt/hearth/runtime'])
            fs.mkdirSync(path.join(rootfs, dir), { recursive: true });
        for (const [link, target] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['sbin', 'usr/sbin']])
            fs.symlinkSync(target, path.join(rootfs, link));
        fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(ociConfig(fn, this.options.runtimeDir)));
        const sandboxMs = performance.now() - t0;
        // --preserve-fds 1 hands fd 3 (the channel) to the container process.
        const runArgs = [...this.globalArgs, 'run', '--no-pivot', '--preserve-fds', '1', '--bundle', bundle, id];
        // crun refuses "hybrid" hosts (cgroup v1 controllers plus a v2 mount with any controller, as on
        // this machine's hugetlb); it then runs in a private mount namespace without the v2 mount.
        const child = this.options.hideUnifiedCgroup
            ? spawn('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', 'umount /sys/fs/cgroup/unified && exec "$0" "$@"', this.crun, ...runArgs], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] })
            : spawn(this.crun, runArgs, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
        const exited = processExit(child);
        return coldInstanceFromChild(fn, child, this.options.logs, { t0, sandboxMs, initTimeoutMs: 60_000 }, {
            kill: () => {
                spawnSync(this.crun, [...this.globalArgs, 'kill', id, 'KILL']);
                child.kill('SIGKILL');
            },
            cleanup: () => {
                spawnSync(this.crun, [...this.globalArgs, 'delete', '--force', id]);
                fs.rmSync(bundle, { recursive: true, force: true });
            },
        }, exited);
    }
}
//# sourceMappingURL=crun-starter.js.map