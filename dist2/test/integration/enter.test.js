// The enter-sandbox sequence on the cold path: hearth-enter sets up a sandbox and
// execs a probe (/bin/sh or /usr/bin/python3) that reports what it can see and do.
// Real kernel, real mounts; everything the sandbox mounts lives in its own mount
// namespace and disappears with it. Needs root and `npm run build:native`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadSeccompProfile, makeSandboxPlan, planToArgs, SandboxEnterError, spawnSandboxed, } from '../../src/sandbox/enter.js';
import { REPO_ROOT } from '../../src/sandbox/native.js';
import { tempDir } from '../helpers.js';
const isRoot = process.getuid?.() === 0;
const ROOT_ONLY = isRoot ? false : 'needs root: the enter-sandbox sequence mounts, unshares and maps ids';
const X64_ROOT_ONLY = !isRoot ? ROOT_ONLY : process.arch !== 'x64' ? 'syscall numbers in the probe are x86_64' : false;
const UID_BASE = 600_000;
function codeDir() {
    const dir = tempDir('enter-code');
    fs.writeFileSync(path.join(dir, 'index.js'), 'exports.handler = async () => 1;\n');
    fs.chmodSync(dir, 0o755);
    return dir;
}
function plan(overrides = {}) {
    return makeSandboxPlan({ codeDir: codeDir(), runtimeDir: path.join(REPO_ROOT, 'runtimes'), ids: { uid: UID_BASE, gid: UID_BASE }, ...overrides });
}
/**
 * Runs `command` in the sandbox; `whileRunning` (if given) runs once the command was
 * exec'd, with the sandbox's host pid, before stdin is closed.
 */
async function probe(p, command, whileRunning) {
    const sandboxed = spawnSandboxed(p, command, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const { child } = sandboxed;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr += d.toString()));
    const closed = new Promise((resolve) => child.once('close', (code, signal) => resolve([code, signal])));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const result = {};
    try {
        result.pid = (await sandboxed.entered).pid;
        if (whileRunning)
            await whileRunning(result.pid, child.pid);
    }
    catch (error) {
        if (!(error instanceof SandboxEnterError))
            throw error;
        result.error = error;
    }
    finally {
        child.stdin.end();
    }
    const [code, signal] = await closed;
    clearTimeout(timer);
    return { stdout, stderr, code, signal, ...result };
}
/** Runs a Python probe that prints one JSON object. */
async function python(p, source, whileRunning) {
    const result = await probe(p, ['/usr/bin/python3', '-I', '-c', source], whileRunning);
    assert.equal(result.error, undefined, `sandbox failed: ${result.error?.message}`);
    assert.equal(result.code, 0, `probe failed (exit ${result.code}, ${result.signal}):\n${result.stderr}`);
    return JSON.parse(result.stdout);
}
function statusField(status, name) {
    return new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(status)?.[1] ?? '';
}
test('identity: uid/gid 1000 inside, base+1000 on the host, the whole range mapped', { skip: ROOT_ONLY }, async () => {
    let hostView;
    const report = await python(plan(), 'import os, json, sys; print(json.dumps({"ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()], "groups": os.getgroups()}), flush=True); sys.stdin.read()', (pid) => {
        hostView = { status: fs.readFileSync(`/proc/${pid}/status`, 'utf8'), uidMap: fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8'), gidMap: fs.readFileSync(`/proc/${pid}/gid_map`, 'utf8') };
    });
    assert.deepEqual(report, { ids: [1000, 1000, 1000, 1000], groups: [] });
    assert.equal(statusField(hostView.status, 'Uid'), [UID_BASE + 1000, UID_BASE + 1000, UID_BASE + 1000, UID_BASE + 1000].join('\t'));
    assert.equal(statusField(hostView.status, 'Gid'), [UID_BASE + 1000, UID_BASE + 1000, UID_BASE + 1000, UID_BASE + 1000].join('\t'));
    assert.deepEqual(hostView.uidMap.trim().split(/\s+/).map(Number), [0, UID_BASE, 65536]);
    assert.deepEqual(hostView.gidMap.trim().split(/\s+/).map(Number), [0, UID_BASE, 65536]);
    // Pid 1 of its own pid namespace.
    assert.match(statusField(hostView.status, 'NSpid'), /^\d+\t1$/);
});
test('/proc shows only the sandbox; the hostname is the plan\'s', { skip: ROOT_ONLY }, async () => {
    const report = await python(plan({ hostname: 'fn-probe' }), `
import os, json, subprocess
print(json.dumps({"procs": sorted(p for p in os.listdir("/proc") if p.isdigit()), "pid": os.getpid(),
  "nodename": os.uname().nodename, "etc_hostname": open("/etc/hostname").read().strip(),
  "child_sees": sorted(p for p in subprocess.run(["/bin/ls", "/proc"], capture_output=True, text=True).stdout.split() if p.isdigit())}))`);
    assert.deepEqual(report.procs, ['1']);
    assert.equal(report.pid, 1);
    assert.equal(report.nodename, 'fn-probe');
    assert.equal(report.etc_hostname, 'fn-probe');
    assert.deepEqual(report.child_sees, ['1', '2'], 'python and ls: nothing of the host');
});
test('no host paths: /etc/shadow, /root, the repo, /work and /home are absent', { skip: ROOT_ONLY }, async () => {
    const report = await python(plan(), `
import os, json
paths = ["/etc/shadow", "/etc/gshadow", "/root", ${JSON.stringify(REPO_ROOT)}, "/work", "/home", "/var/lib", "/run", "/sys", "/boot", "/etc/ssl/private", "/etc/sudoers"]
print(json.dumps({"present": [p for p in paths if os.path.lexists(p)], "root": sorted(os.listdir("/")), "etc": sorted(os.listdir("/etc")),
  "var": sorted(os.listdir("/var")), "passwd": open("/etc/passwd").read()}))`);
    assert.deepEqual(report.present, []);
    const expectedRoot = ['bin', 'dev', 'etc', 'lib', 'opt', 'proc', 'sbin', 'tmp', 'usr', 'var', ...(fs.existsSync('/lib64') ? ['lib64'] : [])].sort();
    assert.deepEqual(report.root, expectedRoot);
    assert.deepEqual(report.var, ['task']);
    for (const entry of report.etc) {
        assert.ok(['alternatives', 'ca-certificates.conf', 'group', 'hostname', 'hosts', 'ld.so.cache', 'localtime', 'mime.types', 'nsswitch.conf', 'passwd', 'resolv.conf', 'ssl'].includes(entry) || /^python3(\.\d+)?$/.test(entry), `unexpected /etc/${entry}`);
    }
    const users = String(report.passwd).split('\n').filter((l) => l !== '').map((l) => l.split(':')[0]);
    assert.deepEqual(users, ['root', 'hearth', 'nobody'], 'the generated passwd, not the host\'s');
});
test('read-only root, /usr and /var/task; writable /tmp with its size limit', { skip: ROOT_ONLY }, async () => {
    const report = await python(plan({ tmp: { sizeBytes: 1 << 20 } }), `
import os, json, errno
def attempt(path, size=1):
    try:
        with open(path, "wb") as f:
            f.write(b"x" * size)
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
print(json.dumps({"root": attempt("/x"), "usr": attempt("/usr/x"), "task": attempt("/var/task/x"), "task_existing": attempt("/var/task/index.js"),
  "etc": attempt("/etc/passwd"), "tmp": attempt("/tmp/small"), "tmp_big": attempt("/tmp/big", 2 << 20), "shm": attempt("/dev/shm/x"),
  "devnull": attempt("/dev/null"), "dev": attempt("/dev/newfile"), "proc_sys": attempt("/proc/sys/kernel/hostname"),
  "code": open("/var/task/index.js").read(), "runtime": sorted(os.listdir("/opt/hearth/runtime"))}))`);
    assert.equal(report.root, 'EROFS');
    assert.equal(report.usr, 'EROFS');
    assert.equal(report.task, 'EROFS');
    assert.equal(report.task_existing, 'EROFS');
    assert.equal(report.etc, 'EROFS');
    assert.equal(report.tmp, 'ok');
    assert.equal(report.tmp_big, 'ENOSPC');
    assert.equal(report.shm, 'ok');
    assert.equal(report.devnull, 'ok');
    assert.equal(report.dev, 'EROFS');
    assert.equal(report.proc_sys, 'EROFS');
    assert.equal(report.code, 'exports.handler = async () => 1;\n');
    assert.deepEqual(report.runtime, fs.readdirSync(path.join(REPO_ROOT, 'runtimes')).sort());
});
test('no capabilities, no_new_privs, seccomp filter mode', { skip: ROOT_ONLY }, async () => {
    const result = await probe(plan(), ['/bin/sh', '-c', 'cat /proc/self/status']);
    assert.equal(result.code, 0, result.stderr);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
        assert.equal(statusField(result.stdout, set), '0000000000000000', set);
    assert.equal(statusField(result.stdout, 'NoNewPrivs'), '1');
    assert.equal(statusField(result.stdout, 'Seccomp'), '2');
    assert.equal(statusField(result.stdout, 'Seccomp_filters'), '1');
});
test('denied syscalls: mount, unshare, setns, ptrace, bpf, keyctl, ... fail with EPERM; clone3 with ENOSYS; fork still works', { skip: X64_ROOT_ONLY }, async () => {
    // x86_64 numbers. Arguments that would succeed without the filter where that is possible
    // (unshare(CLONE_NEWUSER) and keyctl are allowed to unprivileged processes).
    const report = await python(plan(), `
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return os.strerror(ctypes.get_errno()) if r < 0 else "allowed"
results = {
  "mount": call(165, 0, 0, 0, 0, 0), "umount2": call(166, 0, 0), "pivot_root": call(155, 0, 0),
  "unshare_user": call(272, 0x10000000), "unshare_net": call(272, 0x40000000), "setns": call(308, 0, 0),
  "ptrace_traceme": call(101, 0, 0, 0, 0), "process_vm_readv": call(310, 1, 0, 0, 0, 0, 0),
  "bpf": call(321, 0, 0, 0), "perf_event_open": call(298, 0, 0, -1, -1, 0), "userfaultfd": call(323, 0),
  "keyctl": call(250, 0, -3, 0), "add_key": call(248, 0, 0, 0, 0, 0), "request_key": call(249, 0, 0, 0, 0),
  "kexec_load": call(246, 0, 0, 0, 0), "init_module": call(175, 0, 0, 0), "finit_module": call(313, -1, 0, 0), "delete_module": call(176, 0, 0),
  "open_by_handle_at": call(304, -1, 0, 0), "name_to_handle_at": call(303, -100, 0, 0, 0, 0), "reboot": call(169, 0, 0, 0, 0),
  "swapon": call(167, 0, 0), "acct": call(163, 0), "io_uring_setup": call(425, 1, 0), "fsopen": call(430, 0, 0),
  "clone_newuser": call(56, 0x10000000 | 17, 0, 0, 0, 0), "clone3": call(435, 0, 0),
}
pid = os.fork()
if pid == 0:
    os._exit(7)
results["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps(results))`);
    const { fork, clone3, io_uring_setup: ioUring, ...rest } = report;
    for (const [name, outcome] of Object.entries(rest))
        assert.equal(outcome, 'Operation not permitted', name);
    assert.equal(clone3, 'Function not implemented');
    assert.equal(ioUring, 'Function not implemented');
    assert.equal(fork, 7, 'os.fork (clone without namespace flags) works');
});
test('only the kept fds are open: 0, 1, 2 and the channel 3', { skip: ROOT_ONLY }, async () => {
    // The helper gets a fifth, unkept fd (stdio[4]); it must not reach the sandbox.
    const p = plan();
    const sandboxed = spawnSandboxed(p, ['/usr/bin/python3', '-I', '-c', `
import os, json, stat
open_fds = []
for fd in range(256):
    try:
        open_fds.append([fd, stat.S_IFMT(os.fstat(fd).st_mode)])
    except OSError:
        pass
print(json.dumps(open_fds))`], { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    sandboxed.child.stdout.on('data', (d) => (stdout += d.toString()));
    sandboxed.child.stdin.end();
    await sandboxed.entered;
    const [code] = await new Promise((resolve) => sandboxed.child.once('close', (c) => resolve([c])));
    assert.equal(code, 0);
    const fds = JSON.parse(stdout);
    assert.deepEqual(fds.map(([fd]) => fd), [0, 1, 2, 3]);
    assert.equal(fds[3][1], fs.constants.S_IFSOCK, 'fd 3 is the channel (a socket)');
});
test('a kept fd that is not open is simply not there (and its number is not reused by the sequence)', { skip: ROOT_ONLY }, async () => {
    // stdio[3] 'ignore': the helper has no fd 3, although the plan keeps 3.
    const sandboxed = spawnSandboxed(plan(), ['/usr/bin/python3', '-I', '-c', `
import os, json
fds = []
for fd in range(64):
    try:
        os.fstat(fd); fds.append(fd)
    except OSError:
        pass
print(json.dumps(fds))`], { stdio: ['ignore', 'pipe', 'pipe', 'ignore'] });
    let stdout = '';
    sandboxed.child.stdout.on('data', (d) => (stdout += d.toString()));
    await sandboxed.entered;
    const [code] = await new Promise((resolve) => sandboxed.child.once('close', (c) => resolve([c])));
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), [0, 1, 2]);
});
test('a new network namespace has only lo, and lo is up', { skip: ROOT_ONLY }, async () => {
    const report = await python(plan(), `
import json, socket
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
client = socket.create_connection(server.getsockname(), timeout=2)
try:
    socket.create_connection(("1.1.1.1", 53), timeout=1); outside = "reachable"
except OSError as e:
    outside = e.__class__.__name__ + ":" + str(e.errno)
print(json.dumps({"links": [name for _, name in socket.if_nameindex()], "loopback": "ok", "outside": outside}))`);
    assert.deepEqual(report.links, ['lo']);
    assert.equal(report.loopback, 'ok');
    assert.notEqual(report.outside, 'reachable');
});
test('joining a given network namespace (setns before the user namespace exists)', { skip: ROOT_ONLY }, async (t) => {
    const name = `hearth-enter-test-${crypto.randomBytes(3).toString('hex')}`;
    try {
        execFileSync('ip', ['netns', 'add', name]);
    }
    catch (error) {
        t.skip(`cannot create a network namespace with ip(8): ${error.message}`);
        return;
    }
    try {
        // A mark only this namespace has: an address on its loopback.
        execFileSync('ip', ['-n', name, 'addr', 'add', '10.254.7.1/32', 'dev', 'lo']);
        execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
        const report = await python(plan({ netnsPath: `/run/netns/${name}` }), `
import json, socket
s = socket.socket(); s.bind(("10.254.7.1", 0))
print(json.dumps({"links": [n for _, n in socket.if_nameindex()], "bound": s.getsockname()[0]}))`);
        assert.deepEqual(report, { links: ['lo'], bound: '10.254.7.1' });
        // The new-netns default does not have it.
        const fresh = await probe(plan(), ['/usr/bin/python3', '-I', '-c', 'import socket; socket.socket().bind(("10.254.7.1", 0))']);
        assert.match(fresh.stderr, /Cannot assign requested address/);
    }
    finally {
        execFileSync('ip', ['netns', 'del', name]);
    }
});
async function withCgroup(root, body) {
    const dir = path.join(root, `hearth-enter-test-${crypto.randomBytes(3).toString('hex')}`);
    fs.mkdirSync(dir);
    try {
        await body(dir);
    }
    finally {
        for (let i = 0; i < 50; i++) {
            try {
                fs.rmdirSync(dir);
                break;
            }
            catch (error) {
                if (error.code !== 'EBUSY')
                    throw error;
                await new Promise((r) => setTimeout(r, 20)); // the last process is still being reaped
            }
        }
    }
}
const V1_PIDS = '/sys/fs/cgroup/pids';
const V2_ROOT = fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : null;
test('cgroup v1: the sandboxed process (not its supervisor) is in the cgroup, and sees it as /', { skip: ROOT_ONLY || (!fs.existsSync(path.join(V1_PIDS, 'cgroup.procs')) && 'no cgroup v1 pids hierarchy') }, async () => {
    await withCgroup(V1_PIDS, async (dir) => {
        let members = [];
        let supervisor = 0;
        const report = await python(plan({ cgroup: { procsFiles: [path.join(dir, 'cgroup.procs')], v2Dir: null } }), `
import json, sys
print(json.dumps({"cgroup": [l for l in open("/proc/self/cgroup").read().splitlines() if ":pids:" in l]}), flush=True)
sys.stdin.read()`, (pid, supervisorPid) => {
            members = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim().split('\n');
            supervisor = supervisorPid;
            members.push(`sandbox=${pid}`);
        });
        const sandboxPid = members.pop().slice('sandbox='.length);
        assert.deepEqual(members, [sandboxPid]);
        assert.notEqual(sandboxPid, String(supervisor));
        assert.match(String(report.cgroup[0]), /:pids:\/$/, 'cgroup namespace: the leaf is the root');
    });
});
test('cgroup v2: the child is created in the cgroup (clone3 CLONE_INTO_CGROUP)', { skip: ROOT_ONLY || (!V2_ROOT && 'no cgroup2 hierarchy') }, async () => {
    await withCgroup(V2_ROOT, async (dir) => {
        let members = [];
        let sandboxPid = 0;
        const report = await python(plan({ cgroup: { procsFiles: [path.join(dir, 'cgroup.procs')], v2Dir: dir } }), `
import json, sys
print(json.dumps({"cgroup": [l for l in open("/proc/self/cgroup").read().splitlines() if l.startswith("0::")]}), flush=True)
sys.stdin.read()`, (pid) => {
            members = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim().split('\n');
            sandboxPid = pid;
        });
        assert.deepEqual(members, [String(sandboxPid)]);
        assert.deepEqual(report.cgroup, ['0::/']);
    });
});
test('a cgroup2 leaf that is not on cgroup2 is refused at open-cgroups', { skip: ROOT_ONLY }, async () => {
    const notCgroup = tempDir('not-cgroup');
    const result = await probe(plan({ cgroup: { procsFiles: [], v2Dir: notCgroup } }), ['/bin/sh', '-c', 'echo RAN']);
    assert.equal(result.error?.step, 'open-cgroups');
    assert.equal(result.error?.errno, 'EINVAL');
    assert.equal(result.stdout, '');
});
test('signals: SIGTERM ends a sandboxed pid 1 without a handler; a handler receives it', { skip: ROOT_ONLY }, async () => {
    const waitForLine = (stream) => new Promise((resolve) => stream.once('data', () => resolve()));
    // No handler: as pid 1 the kernel would ignore SIGTERM; the supervisor ends it the default way.
    const plain = spawnSandboxed(plan(), ['/usr/bin/python3', '-I', '-c', 'import time; print("up", flush=True); time.sleep(60)'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    await plain.entered;
    await waitForLine(plain.child.stdout);
    plain.child.kill('SIGTERM');
    const [code, signal] = await new Promise((resolve) => plain.child.once('exit', (c, s) => resolve([c, s])));
    assert.deepEqual([code, signal], [null, 'SIGTERM']);
    // With a handler: delivered.
    const handled = spawnSandboxed(plan(), ['/usr/bin/python3', '-I', '-c', `
import os, signal, sys, time
# os.write, not print: the handler may interrupt the main thread inside print's flush.
signal.signal(signal.SIGTERM, lambda *a: (os.write(1, b"got SIGTERM\\n"), os._exit(3)))
print("up", flush=True)
time.sleep(60)`], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    handled.child.stderr.on('data', (d) => (err += d.toString()));
    await handled.entered;
    await new Promise((resolve) => handled.child.stdout.on('data', (d) => ((out += d.toString()), out.includes('up') && resolve())));
    handled.child.kill('SIGTERM');
    const [code2] = await new Promise((resolve) => handled.child.once('close', (c) => resolve([c])));
    assert.equal(code2, 3, `stdout: ${out}\nstderr: ${err}`);
    assert.match(out, /got SIGTERM/);
});
test('the sandbox dies with its supervisor (PR_SET_PDEATHSIG)', { skip: ROOT_ONLY }, async () => {
    const sandboxed = spawnSandboxed(plan(), ['/bin/sh', '-c', 'sleep 60'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const { pid } = await sandboxed.entered;
    assert.ok(fs.existsSync(`/proc/${pid}`));
    sandboxed.child.kill('SIGKILL');
    const gone = () => !fs.existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    for (let i = 0; i < 100 && !gone(); i++)
        await new Promise((r) => setTimeout(r, 20));
    assert.ok(gone(), 'the sandboxed process is gone');
});
test('Node.js runs inside: crypto, zlib, child processes (clone fallback), worker threads, the runtime dir', { skip: ROOT_ONLY }, async () => {
    const result = await probe(plan(), ['/usr/bin/node', '-e', `
const { execFileSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const crypto = require('node:crypto'), zlib = require('node:zlib'), fs = require('node:fs');
crypto.pbkdf2('a', 'b', 1000, 16, 'sha256', (e, key) => {
  const w = new Worker('require("node:worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
  w.once('message', (answer) => console.log(JSON.stringify({
    key: key.toString('hex'), gz: zlib.gunzipSync(zlib.gzipSync('hearth')).toString(),
    sh: execFileSync('/bin/sh', ['-c', 'echo $((1+1))']).toString().trim(), answer,
    runtime: fs.readdirSync('/opt/hearth/runtime').sort(), cwd: process.cwd(), uid: process.getuid() })));
});`]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(report, {
        key: crypto.pbkdf2Sync('a', 'b', 1000, 16, 'sha256').toString('hex'),
        gz: 'hearth',
        sh: '2',
        answer: 42,
        runtime: fs.readdirSync(path.join(REPO_ROOT, 'runtimes')).sort(),
        cwd: '/var/task',
        uid: 1000,
    });
});
test('rlimits, /dev and masked /proc entries', { skip: ROOT_ONLY }, async () => {
    const report = await python(plan({ rlimits: { nofile: { soft: 256, hard: 512 } } }), `
import json, os, resource
print(json.dumps({"nofile": resource.getrlimit(resource.RLIMIT_NOFILE), "core": resource.getrlimit(resource.RLIMIT_CORE),
  "dev": sorted(os.listdir("/dev")), "timer_list": open("/proc/timer_list").read(), "keys": open("/proc/keys").read(),
  "urandom": len(open("/dev/urandom", "rb").read(16))}))`);
    assert.deepEqual(report.nofile, [256, 512]);
    assert.deepEqual(report.core, [0, 0]);
    const devices = ['null', 'zero', 'full', 'random', 'urandom', 'tty'].filter((d) => fs.existsSync(`/dev/${d}`));
    assert.deepEqual(report.dev, [...devices, 'fd', 'shm', 'stderr', 'stdin', 'stdout'].sort());
    // Masked (where the kernel has them): /dev/null over files.
    assert.equal(report.timer_list, '');
    assert.equal(report.keys, '');
    assert.equal(report.urandom, 16);
});
test('a failing step is reported as {step, errno} and the command never runs', { skip: ROOT_ONLY }, async () => {
    const p = { ...plan(), code: { source: '/nonexistent/hearth/code', target: '/var/task' } };
    const result = await probe(p, ['/bin/sh', '-c', 'echo RAN']);
    assert.ok(result.error instanceof SandboxEnterError);
    assert.equal(result.error.step, 'bind-code');
    assert.equal(result.error.errno, 'ENOENT');
    assert.match(result.error.message, /\/nonexistent\/hearth\/code/);
    assert.equal(result.error.code, 'HEARTH_E_INTERNAL');
    assert.equal(result.stdout, '');
    assert.equal(result.code, 127);
    // An exec failure is a step too.
    const missing = await probe(plan(), ['/usr/bin/no-such-runtime']);
    assert.deepEqual([missing.error?.step, missing.error?.errno], ['exec', 'ENOENT']);
    // So is a plan the C side rejects.
    const bad = await probe({ ...plan(), seccomp: ['no_such_syscall:EPERM'] }, ['/bin/true']);
    assert.deepEqual([bad.error?.step, bad.error?.errno], ['plan', 'EINVAL']);
});
test('planToArgs refuses paths it cannot pass safely', () => {
    const p = makeSandboxPlan({ codeDir: '/srv/code', ids: { uid: UID_BASE, gid: UID_BASE } });
    assert.throws(() => planToArgs({ ...p, code: { source: '/srv/a:b', target: '/var/task' } }), /without ':'/);
    assert.throws(() => planToArgs({ ...p, code: { source: '/srv/../etc', target: '/var/task' } }), /dot components/);
    assert.throws(() => planToArgs({ ...p, code: { source: 'relative', target: '/var/task' } }), /absolute/);
    const args = planToArgs(p);
    assert.equal(args[0], '--status-fd');
    assert.ok(args.includes('--seccomp'));
});
// ---- the documentation matches the code -----------------------------------------
function docSection(heading) {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'security.md'), 'utf8');
    const start = doc.indexOf(heading);
    assert.ok(start >= 0, `docs/security.md has a section "${heading}"`);
    const next = doc.indexOf('\n## ', start + heading.length);
    return doc.slice(start, next === -1 ? undefined : next);
}
test('docs/security.md lists the steps of native/enter.c in the same order', () => {
    const source = fs.readFileSync(path.join(REPO_ROOT, 'native', 'enter.c'), 'utf8');
    const codeSteps = [...source.matchAll(/STEP\(s, "([a-z0-9-]+)"/g)].map((m) => m[1]);
    const docSteps = [...docSection('## The enter-sandbox sequence').matchAll(/^\s*\d+\. `([a-z0-9-]+)`/gm)].map((m) => m[1]);
    assert.ok(codeSteps.length > 30);
    assert.deepEqual(docSteps, codeSteps);
});
test('docs/security.md lists the seccomp profile, entry by entry', () => {
    const profile = loadSeccompProfile().map((e) => `${e.syscall} ${e.action}`);
    const rows = [...docSection('## Seccomp').matchAll(/^\| `([a-z0-9_]+)` \| (\w+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(rows, profile);
});
//# sourceMappingURL=enter.test.js.map