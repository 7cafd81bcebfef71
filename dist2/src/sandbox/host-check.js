// What hearth needs from the host to sandbox instances, checked at start-up with a
// precise message (and a fix) for each thing that is missing.
import fs from 'node:fs';
import path from 'node:path';
import { HearthError } from '../errors.js';
import { detectCgroupHost } from './cgroups.js';
/** Capabilities hearth uses, by bit number (linux/capability.h). */
const CAPABILITIES = [
    { bit: 21, name: 'CAP_SYS_ADMIN', why: 'namespaces, mounts, setns, pivot_root, seccomp without no_new_privs' },
    { bit: 12, name: 'CAP_NET_ADMIN', why: 'configuring network namespaces' },
    { bit: 6, name: 'CAP_SETGID', why: 'gid maps for the sandboxes user namespaces' },
    { bit: 7, name: 'CAP_SETUID', why: 'uid maps for the sandboxes user namespaces' },
    { bit: 0, name: 'CAP_CHOWN', why: 'handing scratch directories to a sandbox id range' },
    { bit: 5, name: 'CAP_KILL', why: 'killing sandboxed processes that run as other uids' },
    { bit: 1, name: 'CAP_DAC_OVERRIDE', why: 'writing cgroup files and sandbox scratch directories' },
    { bit: 18, name: 'CAP_SYS_CHROOT', why: 'entering the sandbox root' },
];
const TMPFS_MAGIC = 0x01021994;
const OVERFLOW_UID = 65534;
function readOr(file, fallback = null) {
    try {
        return fs.readFileSync(file, 'utf8');
    }
    catch {
        return fallback;
    }
}
function findBinary(name, searchPath) {
    for (const dir of [...searchPath.split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
        if (!dir)
            continue;
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile())
                return candidate;
        }
        catch {
            /* next */
        }
    }
    return null;
}
function kernelAtLeast(release, major, minor) {
    const m = /^(\d+)\.(\d+)/.exec(release);
    if (!m)
        return false;
    const [maj, min] = [Number(m[1]), Number(m[2])];
    return maj > major || (maj === major && min >= minor);
}
/** Checks everything hearth's sandboxes need. Never throws; see assertHost(). */
export function checkHost(options = {}) {
    const proc = options.procRoot ?? '/proc';
    const searchPath = options.searchPath ?? process.env.PATH ?? '';
    const reqs = [];
    const add = (r) => {
        reqs.push(r);
    };
    // Privileges: root, or the capabilities (effective).
    const status = readOr(`${proc}/self/status`) ?? '';
    const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
    const lacking = CAPABILITIES.filter((c) => (capEff & (1n << BigInt(c.bit))) === 0n);
    const uid = process.getuid?.() ?? -1;
    add({
        name: 'privileges',
        ok: lacking.length === 0,
        required: true,
        detail: lacking.length === 0 ? `uid ${uid}, all needed capabilities effective` : `uid ${uid}; missing capabilities: ${lacking.map((c) => `${c.name} (${c.why})`).join(', ')}`,
        fix: 'run hearth as root (or grant these capabilities, e.g. systemd AmbientCapabilities= / a privileged DaemonSet)',
    });
    // Cgroups.
    const cgroups = detectCgroupHost();
    if (cgroups.preferred) {
        const desc = cgroups.preferred === 'v2'
            ? `cgroup v2 at ${cgroups.v2.mountPoint} with [${cgroups.v2.controllers.join(' ')}]`
            : `cgroup v1: ${Object.entries(cgroups.v1)
                .map(([c, h]) => `${c} at ${h.mountPoint}`)
                .join(', ')}`;
        const roots = cgroups.preferred === 'v2' ? [cgroups.v2.mountPoint] : [cgroups.v1.memory.mountPoint, cgroups.v1.pids.mountPoint];
        const unwritable = roots.filter((r) => {
            try {
                fs.accessSync(r, fs.constants.W_OK);
                return false;
            }
            catch {
                return true;
            }
        });
        add({
            name: 'cgroups',
            ok: unwritable.length === 0,
            required: true,
            detail: unwritable.length === 0 ? `${desc} (using ${cgroups.preferred})` : `${desc}, but not writable: ${unwritable.join(', ')}`,
            fix: 'run as root, or delegate a cgroup subtree to hearth (systemd Delegate=yes) and configure it as the parent',
        });
        for (const problem of cgroups.problems)
            add({ name: 'cgroups-optional', ok: false, required: false, detail: problem });
        if (cgroups.preferred === 'v2') {
            const release = readOr(`${proc}/sys/kernel/osrelease`, '').trim();
            add({
                name: 'cgroup-kill',
                ok: kernelAtLeast(release, 5, 14),
                required: false,
                detail: `kernel ${release}: cgroup.kill ${kernelAtLeast(release, 5, 14) ? 'available' : 'missing (before 5.14): killing a cgroup falls back to a kill loop'}`,
            });
        }
    }
    else {
        add({ name: 'cgroups', ok: false, required: true, detail: cgroups.problems.join('; '), fix: 'mount cgroup2 with the memory and pids controllers (systemd default on current distributions), or the v1 memory and pids hierarchies' });
    }
    // User namespaces.
    const maxUserNs = Number((readOr(`${proc}/sys/user/max_user_namespaces`) ?? '0').trim());
    add({
        name: 'userns',
        ok: maxUserNs > 0 && fs.existsSync(`${proc}/self/ns/user`),
        required: true,
        detail: !fs.existsSync(`${proc}/self/ns/user`) ? 'kernel without user namespaces (no /proc/self/ns/user)' : `user.max_user_namespaces = ${maxUserNs}${maxUserNs > 0 ? '' : ' (disabled)'}`,
        fix: 'enable user namespaces: sysctl user.max_user_namespaces=15000 (hearth itself never changes sysctls)',
    });
    const filesystems = readOr(`${proc}/filesystems`) ?? '';
    const hasOverlay = /\boverlay$/m.test(filesystems) || fs.existsSync('/sys/module/overlay') || fs.existsSync(`/lib/modules/${(readOr(`${proc}/sys/kernel/osrelease`) ?? '').trim()}/kernel/fs/overlayfs`);
    add({ name: 'overlayfs', ok: hasOverlay, required: true, detail: hasOverlay ? 'overlay filesystem available' : 'overlay filesystem not in /proc/filesystems and no module found', fix: 'modprobe overlay (CONFIG_OVERLAY_FS)' });
    // Id ranges for sandboxes.
    const uidBase = options.uidBase ?? 100000;
    const rangeEnd = uidBase + (options.idsPerShell ?? 65536) * (options.maxShells ?? 1024);
    const clash = [];
    for (const line of (readOr('/etc/passwd') ?? '').split('\n')) {
        const [user, , id] = line.split(':');
        const n = Number(id);
        if (user && Number.isInteger(n) && n >= uidBase && n < rangeEnd && n !== OVERFLOW_UID)
            clash.push(`${user} (${n})`);
    }
    add({
        name: 'id-range',
        ok: clash.length === 0 && rangeEnd <= 2 ** 32 - 2,
        required: true,
        detail: clash.length === 0 ? `sandbox ids ${uidBase}..${rangeEnd - 1} are not used by host accounts` : `host accounts inside the sandbox id range ${uidBase}..${rangeEnd - 1}: ${clash.join(', ')}`,
        fix: 'choose a uidBase (and maxShells) whose range no host account uses',
    });
    // Binaries.
    const ip = findBinary('ip', searchPath);
    add({ name: 'ip', ok: ip !== null, required: true, detail: ip ? `${ip}` : "'ip' (iproute2) not found", fix: 'apt-get install iproute2' });
    const nsenter = findBinary('nsenter', searchPath);
    const unshare = findBinary('unshare', searchPath);
    add({ name: 'util-linux', ok: nsenter !== null && unshare !== null, required: true, detail: nsenter && unshare ? `${nsenter}, ${unshare}` : "'nsenter'/'unshare' (util-linux) not found", fix: 'apt-get install util-linux' });
    const slirp = findBinary('slirp4netns', searchPath);
    add({
        name: 'slirp4netns',
        ok: slirp !== null,
        required: options.egress ?? true,
        detail: slirp ? `${slirp} (egress helper)` : "'slirp4netns' not found: functions with network 'egress' cannot run",
        fix: 'apt-get install slirp4netns',
    });
    const tun = fs.existsSync('/dev/net/tun');
    add({ name: 'tun', ok: tun, required: options.egress ?? true, detail: tun ? '/dev/net/tun present' : '/dev/net/tun missing: slirp4netns cannot create the tap device', fix: 'modprobe tun' });
    let runNetns = true;
    try {
        fs.accessSync(fs.existsSync('/run/netns') ? '/run/netns' : '/run', fs.constants.W_OK);
    }
    catch {
        runNetns = false;
    }
    add({ name: 'run-netns', ok: runNetns, required: true, detail: runNetns ? '/run/netns writable' : '/run/netns (or /run) not writable: network namespaces cannot be named', fix: 'run as root' });
    // Scratch on tmpfs.
    const scratchParent = options.scratchParent ?? '/dev/shm';
    let scratchOk = false;
    let scratchDetail;
    try {
        const type = Number(fs.statfsSync(scratchParent).type);
        fs.accessSync(scratchParent, fs.constants.W_OK);
        scratchOk = type === TMPFS_MAGIC;
        scratchDetail = scratchOk ? `${scratchParent} is tmpfs` : `${scratchParent} is not tmpfs (filesystem type 0x${type.toString(16)})`;
    }
    catch (error) {
        scratchDetail = `${scratchParent}: ${error.message}`;
    }
    add({ name: 'scratch-tmpfs', ok: scratchOk, required: true, detail: scratchDetail, fix: `mount a tmpfs there, or configure another tmpfs directory for the shells' writable layers` });
    const missing = reqs.filter((r) => r.required && !r.ok).map((r) => `${r.name}: ${r.detail}${r.fix ? ` — fix: ${r.fix}` : ''}`);
    const warnings = reqs.filter((r) => !r.required && !r.ok).map((r) => `${r.name}: ${r.detail}${r.fix ? ` — ${r.fix}` : ''}`);
    return { ok: missing.length === 0, requirements: reqs, cgroups, missing, warnings };
}
/** checkHost(), throwing HEARTH_E_HOST_UNSUPPORTED that lists everything missing. */
export function assertHost(options = {}) {
    const result = checkHost(options);
    if (!result.ok) {
        throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `this host cannot run hearth's sandboxes:\n  - ${result.missing.join('\n  - ')}`, { missing: result.missing });
    }
    return result;
}
//# sourceMappingURL=host-check.js.map