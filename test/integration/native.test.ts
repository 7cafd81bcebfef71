// The native addon on the real kernel: fork of a running Node process, fd passing,
// errno-named errors, privilege calls, and the fork path of the enter-sandbox
// sequence (a forked child enters the sandbox and goes on running JavaScript).
// Build it first: npm run build:native.
//
// A Node process may only fork itself when V8 runs without background threads
// (`node --single-threaded`, see native.ts forkable()); the test runner's process
// does not, so every case that forks runs in a fresh `node --single-threaded`
// process: this file, re-executed with HEARTH_NATIVE_CASE=<case>.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { enterSandbox, makeSandboxPlan } from '../../src/sandbox/enter.js';
import { forkable, forkNode, loadNative, type WaitStatus } from '../../src/sandbox/native.js';
import { tempDir } from '../helpers.js';

const native = loadNative();
const isRoot = process.getuid?.() === 0;
const ROOT_ONLY = isRoot ? false : 'needs root (run the integration tests as root)';
const THIS_FILE = fileURLToPath(import.meta.url);


const CASE_MODE = process.env.HEARTH_NATIVE_CASE !== undefined;
const cases = new Map<string, () => Promise<void>>();

/** Runs `name` in a fresh `node --single-threaded` process (this file); fails with its stderr. */
async function runCase(name: string): Promise<void> {
  const child = spawn(process.execPath, ['--single-threaded', THIS_FILE], { env: { ...process.env, HEARTH_NATIVE_CASE: name }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  assert.equal(code, 0, `case "${name}" failed (exit ${code}, signal ${signal}):\n${output}`);
}

/** A test whose body forks: registered as a case, run through runCase. */
function forkTest(name: string, options: { skip?: string | false }, body: () => Promise<void>): void {
  cases.set(name, body);
  if (!CASE_MODE) test(name, options, () => runCase(name));
}

/** A test that does not fork: runs in the test runner's process. */
function plainTest(name: string, options: { skip?: string | false }, body: () => Promise<void> | void): void {
  if (!CASE_MODE) test(name, options, body);
}

/** Polls waitpid without blocking the event loop. */
async function waitExit(pid: number, timeoutMs = 20_000): Promise<WaitStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const status = native.waitpid(pid, true);
    if (status) return status;
    if (Date.now() > end) {
      process.kill(pid, 'SIGKILL');
      throw new Error(`pid ${pid} did not exit within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Forks this process; the child runs `body` and leaves with its return value as
 * exit code (99 and the error on stderr if it throws). Never process.exit in a
 * forked child: that would run this test process's exit handlers.
 */
async function inFork(body: () => Promise<number> | number): Promise<{ pid: number; status: WaitStatus }> {
  const pid = forkNode();
  if (pid === 0) {
    try {
      native.exit(await body());
    } catch (error) {
      fs.writeSync(2, `forked child failed: ${(error as Error).stack}\n`);
      native.exit(99);
    }
  }
  return { pid, status: await waitExit(pid) };
}

forkTest('forkProcess: the child survives GC, the thread pool, crypto, zlib and timers', {}, async () => {
  // The parent's thread pool exists before the fork (libuv's fork handler must recreate it).
  await new Promise<void>((resolve, reject) => crypto.pbkdf2('p', 's', 1000, 32, 'sha256', (e) => (e ? reject(e) : resolve())));
  const expected = crypto.pbkdf2Sync('password', 'salt', 20_000, 32, 'sha512').toString('hex');
  const parentPid = process.pid;

  const { pid, status } = await inFork(async () => {
    if (native.getpid() === parentPid) return 10;
    // Heavy allocation: many scavenges and at least one full collection.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    let keep: unknown[] = [];
    for (let round = 0; round < 40; round++) {
      const garbage = Array.from({ length: 50_000 }, (_, i) => ({ i, s: `x${i}`, a: [i, i + 1] }));
      keep.push(garbage[round]);
    }
    gc();
    keep = keep.filter((_, i) => i % 2 === 0);
    gc();
    if (keep.length !== 20) return 11;
    // libuv's thread pool (recreated by its fork handler) and crypto.
    const derived = await new Promise<string>((resolve, reject) => crypto.pbkdf2('password', 'salt', 20_000, 32, 'sha512', (e, key) => (e ? reject(e) : resolve(key.toString('hex')))));
    if (derived !== expected) return 12;
    const random = await new Promise<Buffer>((resolve, reject) => crypto.randomBytes(64, (e, b) => (e ? reject(e) : resolve(b))));
    if (random.length !== 64) return 13;
    // zlib on the thread pool, round trip.
    const input = Buffer.from('hearth '.repeat(10_000));
    const packed = await new Promise<Buffer>((resolve, reject) => zlib.gzip(input, (e, b) => (e ? reject(e) : resolve(b))));
    const unpacked = await new Promise<Buffer>((resolve, reject) => zlib.gunzip(packed, (e, b) => (e ? reject(e) : resolve(b))));
    if (!unpacked.equals(input)) return 14;
    // Timers on the recreated event loop.
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 30));
    if (Date.now() - t0 < 25) return 15;
    return 42;
  });
  assert.ok(pid > 0 && pid !== process.pid);
  assert.deepEqual(status, { pid, code: 42, signal: null });
  // The parent's own event loop and thread pool are untouched.
  assert.equal(crypto.pbkdf2Sync('password', 'salt', 20_000, 32, 'sha512').toString('hex'), expected);
  await new Promise((r) => setTimeout(r, 5));
});

forkTest('waitpid: null while running (nohang), then the signal that ended the child', {}, async () => {
  const pid = forkNode();
  if (pid === 0) {
    // Never return into the caller: wait here until the parent kills us.
    setInterval(() => undefined, 1000);
    await new Promise(() => undefined);
  }
  assert.equal(native.waitpid(pid, true), null);
  process.kill(pid, 'SIGKILL');
  assert.deepEqual(await waitExit(pid), { pid, code: null, signal: 'SIGKILL' });
  assert.throws(() => native.waitpid(pid), { code: 'ECHILD', syscall: 'waitpid' });
});

forkTest('sendFds/recvFds: an fd opened in a forked child arrives in the parent with its data', {}, async () => {
  const dir = tempDir('fds');
  const [parentEnd, childEnd] = native.socketPair();
  const file = path.join(dir, 'from-child.txt');
  const { status } = await inFork(() => {
    fs.writeFileSync(file, 'written by the child');
    const fd = fs.openSync(file, 'r');
    fs.unlinkSync(file); // only the fd keeps it alive now
    native.sendFds(childEnd, [fd], Buffer.from('meta'));
    return 0;
  });
  assert.equal(status.code, 0);
  const { fds, data } = native.recvFds(parentEnd);
  assert.equal(data.toString(), 'meta');
  assert.equal(fds.length, 1);
  const fd = fds[0]!;
  assert.equal(fs.existsSync(file), false);
  const buffer = Buffer.alloc(64);
  const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
  assert.equal(buffer.subarray(0, n).toString(), 'written by the child');
  // Received fds are close-on-exec (flags in /proc/self/fdinfo are octal; O_CLOEXEC = 02000000).
  const flags = Number.parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
  assert.ok(flags & 0o2000000, 'received fd is O_CLOEXEC');
  // Several fds in one message.
  const a = fs.openSync(__filenameOf(), 'r');
  const b = fs.openSync('/dev/null', 'r');
  native.sendFds(parentEnd, [a, b]);
  const second = native.recvFds(childEnd);
  assert.equal(second.fds.length, 2);
  assert.equal(fs.fstatSync(second.fds[0]!).ino, fs.fstatSync(a).ino);
  assert.equal(fs.fstatSync(second.fds[1]!).rdev, fs.fstatSync(b).rdev);
  for (const x of [fd, a, b, ...second.fds, parentEnd, childEnd]) fs.closeSync(x);
});

forkTest('poll, pidfdOpen, dup2, getppid: what the Node zygote and templates loop on', {}, async () => {
  const { POLLIN, POLLHUP } = native.constants;
  const [a, b] = native.socketPair();
  assert.deepEqual(native.poll([a], 0), [0], 'nothing to read: timeout');
  native.sendFds(b, [b], Buffer.from('x'));
  assert.equal(native.poll([a, b], 1000)[0]! & POLLIN, POLLIN);
  const { fds } = native.recvFds(a);
  fs.closeSync(fds[0]!);

  const pid = forkNode();
  if (pid === 0) {
    const ok = native.getppid() === process.ppid && native.getpid() !== process.pid;
    // Block until the parent writes: the parent checks that the pidfd is not readable meanwhile.
    native.poll([b], 10_000);
    native.exit(ok ? 7 : 1);
  }
  const pidfd = native.pidfdOpen(pid);
  assert.deepEqual(native.poll([pidfd], 20), [0], 'the child runs: its pidfd is not readable');
  fs.writeSync(a, 'go');
  assert.ok((native.poll([pidfd], 20_000)[0]! & POLLIN) !== 0, 'readable once the child exited');
  assert.deepEqual(native.waitpid(pid, true), { pid, code: 7, signal: null });
  fs.closeSync(pidfd);
  assert.throws(() => native.pidfdOpen(pid), { code: 'ESRCH', syscall: 'pidfd_open' });

  // dup2: onto a chosen number, close-on-exec or not; oldfd === newfd only switches the flag.
  const cloexec = (fd: number): boolean => (Number.parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8) & 0o2000000) !== 0;
  const target = 900;
  assert.equal(native.dup2(a, target, true), target);
  assert.equal(cloexec(target), true);
  assert.equal(native.dup2(target, target, false), target);
  assert.equal(cloexec(target), false);
  assert.equal(fs.fstatSync(target).ino, fs.fstatSync(a).ino);
  assert.throws(() => native.dup2(987_654, 901), { code: 'EBADF', syscall: 'dup3' });
  fs.closeSync(b);
  assert.ok((native.poll([a], 1000)[0]! & (POLLIN | POLLHUP)) !== 0, 'the peer closed');
  for (const fd of [a, target]) fs.closeSync(fd);
});

function __filenameOf(): string {
  return new URL(import.meta.url).pathname;
}

plainTest('errors carry the errno name, the syscall and the path', { skip: ROOT_ONLY }, () => {
  const { MS_BIND, CLONE_NEWNET } = native.constants;
  assert.throws(() => native.mount('/nonexistent-hearth-source', '/nonexistent-hearth-target', null, MS_BIND, null), (error: NodeJS.ErrnoException) => {
    assert.equal(error.code, 'ENOENT');
    assert.equal(error.errno, -2);
    assert.equal(error.syscall, 'mount');
    assert.equal(error.path, '/nonexistent-hearth-target');
    assert.match(error.message, /^ENOENT: No such file or directory, mount '\/nonexistent-hearth-target'$/);
    return true;
  });
  assert.throws(() => native.umount2(tempDir('not-a-mount'), 0), { code: 'EINVAL', syscall: 'umount2' });
  assert.throws(() => native.setns(987_654, CLONE_NEWNET), { code: 'EBADF', syscall: 'setns' });
  assert.throws(() => native.pivotRoot('/nonexistent-hearth', '/nonexistent-hearth'), { code: 'ENOENT', syscall: 'pivot_root' });
  assert.throws(() => native.closeRange(10, 5), { code: 'EINVAL', syscall: 'close_range' });
  // Bad arguments are TypeErrors, not syscalls.
  assert.throws(() => native.unshare(-1), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => native.installSeccomp(['no_such_syscall:EPERM']), { name: 'TypeError', message: /not known/ });
});

plainTest('closeRange closes exactly the range', {}, () => {
  const fds = [fs.openSync('/dev/null', 'r'), fs.openSync('/dev/null', 'r'), fs.openSync('/dev/null', 'r')].sort((x, y) => x - y);
  const [first, , last] = fds as [number, number, number];
  const outside = fs.openSync('/dev/null', 'r');
  if (outside > first && outside < last) assert.fail('fd numbers interleaved unexpectedly');
  native.closeRange(first, last);
  for (const fd of fds) assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' });
  fs.fstatSync(outside);
  fs.closeSync(outside);
});

forkTest('privileges: in a forked child, no_new_privs, no capabilities, another uid, a seccomp filter', { skip: ROOT_ONLY }, async () => {
  const [parentEnd, childEnd] = native.socketPair();
  const { status } = await inFork(() => {
    native.setNoNewPrivs();
    native.dropBoundingCapabilities(); // needs CAP_SETPCAP: before the uid switch
    native.setgroups([]);
    native.setresgid(65534, 65534, 65534);
    native.setresuid(65534, 65534, 65534);
    native.clearCapabilities();
    native.installSeccomp(['unshare:EPERM', 'ptrace:EPERM', 'clone3:ENOSYS']);
    let unshareError = '';
    try {
      native.unshare(native.constants.CLONE_NEWUSER); // allowed to unprivileged users, so EPERM is the filter's
    } catch (error) {
      unshareError = (error as NodeJS.ErrnoException).code ?? '';
    }
    const procStatus = fs.readFileSync('/proc/self/status', 'utf8');
    fs.writeSync(childEnd, JSON.stringify({ unshareError, uid: process.getuid!(), procStatus }));
    return 0;
  });
  assert.equal(status.code, 0);
  const report = JSON.parse(native.recvFds(parentEnd, 65536).data.toString()) as { unshareError: string; uid: number; procStatus: string };
  const field = (name: string): string => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(report.procStatus)?.[1] ?? '';
  assert.equal(report.uid, 65534);
  assert.equal(report.unshareError, 'EPERM');
  assert.equal(field('NoNewPrivs'), '1');
  assert.equal(field('Seccomp'), '2');
  for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(field(set), '0000000000000000', set);
  assert.equal(field('Groups'), '');
  fs.closeSync(parentEnd);
  fs.closeSync(childEnd);
});

forkTest('enterSandbox: a forked Node child completes the sequence and goes on in JavaScript', { skip: ROOT_ONLY }, async () => {
  const code = tempDir('fork-code');
  fs.writeFileSync(path.join(code, 'handler.js'), 'module.exports = 1;\n');
  fs.chmodSync(code, 0o755);
  const statusFile = path.join(tempDir('fork-status'), 'status');
  const statusFd = fs.openSync(statusFile, 'w+');
  const [parentEnd, channel] = native.socketPair();
  // A file the parent holds open must not reach the sandbox.
  const leakedFile = fs.openSync(__filenameOf(), 'r');

  const { pid, status } = await inFork(async () => {
    const plan = makeSandboxPlan({ codeDir: code, ids: { uid: 500_000, gid: 500_000 }, keepFds: [channel], statusFd, hostname: 'forked' });
    enterSandbox(plan);
    // Inside: pid 1 of the sandbox, uid 1000, the function's code at /var/task.
    const derived = await new Promise<string>((resolve, reject) => crypto.pbkdf2('a', 'b', 1000, 16, 'sha256', (e, k) => (e ? reject(e) : resolve(k.toString('hex')))));
    const fds = fs.readdirSync('/proc/self/fd').map((fd) => {
      try {
        return [Number(fd), fs.readlinkSync(`/proc/self/fd/${fd}`)] as const;
      } catch {
        return [Number(fd), 'gone'] as const;
      }
    });
    const report = {
      pid: native.getpid(),
      uid: process.getuid!(),
      gid: process.getgid!(),
      root: fs.readdirSync('/').sort(),
      code: fs.readFileSync('/var/task/handler.js', 'utf8'),
      cwd: process.cwd(),
      hostname: (await import('node:os')).hostname(),
      procStatus: fs.readFileSync('/proc/self/status', 'utf8'),
      derived,
      fds,
    };
    fs.writeSync(channel, JSON.stringify(report));
    return 7;
  });
  // The supervisor (the forked process) exits with the sandboxed child's status.
  assert.deepEqual(status, { pid, code: 7, signal: null });
  const report = JSON.parse(native.recvFds(parentEnd, 65536).data.toString()) as {
    pid: number; uid: number; gid: number; root: string[]; code: string; cwd: string; hostname: string; procStatus: string; derived: string;
    fds: Array<[number, string]>;
  };
  const field = (name: string): string => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(report.procStatus)?.[1] ?? '';
  assert.equal(report.pid, 1);
  assert.equal(report.uid, 1000);
  assert.equal(report.gid, 1000);
  const expectedRoot = ['bin', 'dev', 'etc', 'lib', 'proc', 'sbin', 'tmp', 'usr', 'var', ...(fs.existsSync('/lib64') ? ['lib64'] : [])].sort();
  assert.deepEqual(report.root, expectedRoot);
  assert.equal(report.code, 'module.exports = 1;\n');
  assert.equal(report.cwd, '/var/task');
  assert.equal(report.hostname, 'forked');
  assert.equal(report.derived, crypto.pbkdf2Sync('a', 'b', 1000, 16, 'sha256').toString('hex'));
  assert.equal(field('NoNewPrivs'), '1');
  assert.equal(field('Seccomp'), '2');
  assert.equal(field('CapEff'), '0000000000000000');
  assert.equal(field('CapBnd'), '0000000000000000');
  // Only the kept channel and the runtime's own event-loop fds: no file, no socket of the parent.
  const channelInode = `socket:[${fs.fstatSync(channel).ino}]`;
  for (const [fd, target] of report.fds) {
    if (fd <= 2) continue;
    const allowed = target === channelInode || /^anon_inode:\[(eventpoll|eventfd|io_uring)\]$/.test(target) || /^pipe:/.test(target) || target === `/proc/${report.pid}/fd` || target === 'gone';
    assert.ok(allowed, `unexpected fd ${fd} -> ${target} in the sandbox`);
  }
  assert.ok(report.fds.some(([, t]) => t === channelInode), 'the kept channel is open');
  // The supervisor announced the sandboxed child's host pid on the status fd, nothing else.
  const lines = fs.readFileSync(statusFile, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1);
  assert.ok((JSON.parse(lines[0]!) as { pid: number }).pid > 0);
  for (const fd of [statusFd, parentEnd, channel, leakedFile]) fs.closeSync(fd);
});

forkTest('enterSandbox: a failing step is reported on the status fd and no JavaScript runs in the sandbox', { skip: ROOT_ONLY }, async () => {
  const statusFile = path.join(tempDir('fork-fail'), 'status');
  const statusFd = fs.openSync(statusFile, 'w+');
  const [parentEnd, channel] = native.socketPair();
  const { status } = await inFork(() => {
    enterSandbox(makeSandboxPlan({ codeDir: '/nonexistent/hearth/code', ids: { uid: 500_000, gid: 500_000 }, keepFds: [channel], statusFd }));
    fs.writeSync(channel, 'tenant code ran'); // must never happen
    return 0;
  });
  assert.equal(status.code, 127);
  const lines = fs.readFileSync(statusFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const failure = lines.find((l) => 'step' in l);
  assert.deepEqual({ step: failure?.step, errno: failure?.errno }, { step: 'bind-code', errno: 'ENOENT' });
  assert.match(String(failure?.message), /\/nonexistent\/hearth\/code/);
  fs.closeSync(channel);
  const { data } = native.recvFds(parentEnd, 1024);
  assert.equal(data.length, 0, 'nothing was written to the channel');
  fs.closeSync(parentEnd);
  fs.closeSync(statusFd);
});

plainTest('forkNode and enterSandbox refuse a Node process whose V8 runs background threads', {}, () => {
  // The test runner's process is not --single-threaded: forking it could deadlock the child.
  assert.equal(forkable(), false);
  assert.throws(() => forkNode(), { code: 'HEARTH_E_HOST_UNSUPPORTED', message: /--single-threaded/ });
  assert.throws(() => enterSandbox(makeSandboxPlan({ codeDir: '/nonexistent', ids: { uid: 500_000, gid: 500_000 } })), { code: 'HEARTH_E_HOST_UNSUPPORTED' });
});

plainTest('enterSandbox: an invalid plan throws in the caller before anything happens', {}, () => {
  assert.throws(() => native.enterSandbox(['--uid-base', '1000']), { name: 'TypeError', message: /--status-fd is required/ });
  assert.throws(() => native.enterSandbox(['--status-fd', '2', '--seccomp', 'ptrace:EWHAT']), { name: 'TypeError', message: /unsupported errno/ });
});

if (CASE_MODE) {
  const name = process.env.HEARTH_NATIVE_CASE!;
  const body = cases.get(name);
  try {
    if (!body) throw new Error(`no such case: ${name}`);
    assert.ok(forkable(), 'cases run under node --single-threaded');
    await body();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
}
