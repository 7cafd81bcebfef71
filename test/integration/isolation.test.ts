// The isolation suite (issue 4): hostile functions deployed on a real, sandboxed
// hearth attack their neighbours, the host and hearth itself from inside real
// instances. Every attack must fail; where an attack needs a live target (another
// instance, a listener, a server on the host) the test also checks that the target
// was really there (a positive control), so that "failed" cannot mean "nothing to hit".
// Needs root, iproute2 and slirp4netns. Everything created here (network namespace,
// veth pair, servers, files) is removed in after(), also when a test fails.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hostIPv4Addresses } from '../../src/sandbox/netns-pool.js';
import { deployOk, invoke, startTestHearth, writeFunction, type TestHearth } from '../helpers.js';

const hasTools = fs.existsSync('/usr/bin/slirp4netns') && spawnSync('ip', ['-V']).status === 0;
const skip = process.getuid?.() !== 0 ? 'sandboxes need root' : !hasTools ? 'needs iproute2 and slirp4netns' : false;

// "A remote host": a network namespace joined to the host by a veth pair on a /30 of
// the benchmarking range 198.19.0.0/16 (198.18.0.0/30 is netns.test.ts's), routed
// by the host like any other directly connected network (no NAT, no host settings).
const TAG = `${process.pid % 100000}`;
const REMOTE_NS = `hiso-remote-${TAG}`;
const VETH = `hisov${TAG}`.slice(0, 15);
const SUBNET = 1 + (process.pid % 250);
const REMOTE_HOST_SIDE = `198.19.${SUBNET}.1`;
const REMOTE_ADDR = `198.19.${SUBNET}.2`;

let h: TestHearth;
const children: ChildProcess[] = [];
const hostServers: net.Server[] = [];
let remotePort = 0;

function sh(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function listen(host: string): Promise<number> {
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.end('host-secret');
  });
  hostServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as net.AddressInfo).port;
}

before(async () => {
  if (skip) return;
  // The remote host first: hearth's egress namespaces block every address the host
  // itself answers on (198.19.x.1 included), measured when they are created.
  sh(['netns', 'add', REMOTE_NS]);
  sh(['link', 'add', VETH, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', REMOTE_NS]);
  sh(['addr', 'add', `${REMOTE_HOST_SIDE}/30`, 'dev', VETH]);
  sh(['link', 'set', VETH, 'up']);
  sh(['-n', REMOTE_NS, 'addr', 'add', `${REMOTE_ADDR}/30`, 'dev', 'eth0']);
  sh(['-n', REMOTE_NS, 'link', 'set', 'eth0', 'up']);
  sh(['-n', REMOTE_NS, 'link', 'set', 'lo', 'up']);
  const script = `const s=require('net').createServer(c=>c.end('hello from the remote host')).listen(0,'0.0.0.0',()=>console.log(s.address().port))`;
  const server = spawn('ip', ['netns', 'exec', REMOTE_NS, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(server);
  remotePort = await new Promise<number>((resolve, reject) => {
    server.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    server.once('exit', (code) => reject(new Error(`remote server exited ${code}`)));
  });
  h = await startTestHearth({ sandbox: true });
});

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const s of hostServers) s.close();
  await h?.cleanup();
  if (!skip) {
    spawnSync('ip', ['link', 'del', VETH]);
    spawnSync('ip', ['netns', 'del', REMOTE_NS]);
    assert.equal(fs.existsSync(`/run/netns/${REMOTE_NS}`), false, 'remote namespace removed');
  }
});

// ---- one Python program, several attacks (chosen by event.mode) -------------------

const ATTACKER_PY = `import ctypes, errno, json, os, signal, socket, subprocess, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def name(e):
    return errno.errorcode.get(e, str(e))

def attempt(fn):
    try:
        fn()
        return "allowed"
    except OSError as e:
        return name(e.errno)

def sys_errno(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    if r == 0 and nr == 56:  # a clone that worked: we are the child
        os._exit(0)
    return "allowed" if r >= 0 else name(ctypes.get_errno())

def own_pids():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())

def signals(event):
    me = os.getpid()
    out = {"pid": me, "procs": own_pids()}
    # Every pid this pid namespace could have: which ones exist besides us?
    seen = []
    for p in range(1, 32769):
        if p == me:
            continue
        try:
            os.kill(p, 0)
            seen.append(p)
        except OSError:
            pass
    out["guessable"] = seen
    # The host pids of the other instances (their supervisors and sandboxed processes), as the agent sees them.
    out["hostPids"] = {str(p): attempt(lambda p=p: os.kill(p, signal.SIGKILL)) for p in event["pids"]}
    out["pidfd"] = {str(p): attempt(lambda p=p: os.close(os.pidfd_open(p))) for p in event["pids"]}
    # kill(-1): every process we may signal. As pid 1 of our namespace that is nobody but our own children.
    out["killAll"] = attempt(lambda: os.kill(-1, signal.SIGKILL))
    return out

def proc_escape(event):
    exe = os.readlink("/proc/self/exe")
    out = {"exe": exe}
    out["exeWrite"] = attempt(lambda: os.close(os.open("/proc/self/exe", os.O_WRONLY)))
    out["exeRdwr"] = attempt(lambda: os.close(os.open("/proc/self/exe", os.O_RDWR)))
    out["runtimeWrite"] = attempt(lambda: os.close(os.open(os.path.realpath(sys.executable), os.O_WRONLY)))
    out["runtimeTrunc"] = attempt(lambda: os.truncate(os.path.realpath(sys.executable), 0))
    out["runtimeChmod"] = attempt(lambda: os.chmod(os.path.realpath(sys.executable), 0o777))
    out["bootstrapWrite"] = attempt(lambda: os.close(os.open("/opt/hearth/runtime/python/bootstrap.py", os.O_WRONLY)))
    # Cold path: /proc/1 is the instance itself. Fork path: the sandbox's /proc, where pid 1 is
    # the (non-dumpable) template: its root cannot be opened at all.
    def same(a, b):
        if a() != b():
            raise OSError(errno.EXDEV, "a different root")
    out["proc1root"] = attempt(lambda: same(lambda: sorted(os.listdir("/proc/1/root")), lambda: sorted(os.listdir("/"))))
    out["proc1rootSameInode"] = attempt(lambda: same(lambda: os.stat("/proc/1/root/").st_ino, lambda: os.stat("/").st_ino))
    out["selfRootShadow"] = attempt(lambda: open("/proc/self/root/etc/shadow", "rb").close())
    out["proc1RootShadow"] = attempt(lambda: open("/proc/1/root/etc/shadow", "rb").close())
    out["proc1RootData"] = attempt(lambda: os.listdir("/proc/1/root" + event["dataDir"]))
    out["cwdUp"] = sorted(os.listdir("/proc/self/cwd/../../..")) == sorted(os.listdir("/"))
    me = int(os.readlink("/proc/self"))  # this process as /proc sees it (not 1 on the fork path)
    others = [p for p in event["pids"] if p != me]
    out["hostPidRoot"] = {str(p): attempt(lambda p=p: os.listdir("/proc/%d/root/" % p)) for p in others}
    out["hostPidExe"] = {str(p): attempt(lambda p=p: os.close(os.open("/proc/%d/exe" % p, os.O_WRONLY))) for p in others}
    out["mapFiles"] = attempt(lambda: os.listdir("/proc/self/map_files"))
    return out

def mount_flags(target):
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        if f[4] == target:
            return f[5].split(",")
    return None

def setuid(event):
    out = {"euid": os.geteuid(), "uidMap": open("/proc/self/uid_map").read().split(),
           "usrFlags": mount_flags("/usr"), "taskFlags": mount_flags("/var/task"), "tmpFlags": mount_flags("/tmp"),
           "noNewPrivs": [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs:")][0]}
    runs = {}
    for cmd in event.get("run", []):
        if not os.path.exists(cmd[0]):
            runs[" ".join(cmd)] = {"missing": True}
            continue
        st = os.stat(cmd[0])
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
            runs[" ".join(cmd)] = {"mode": oct(st.st_mode), "owner": st.st_uid, "rc": p.returncode, "out": p.stdout.decode(errors="replace").strip(), "err": p.stderr.decode(errors="replace").strip()[:200]}
        except subprocess.TimeoutExpired:
            runs[" ".join(cmd)] = {"rc": "timeout"}
    out["runs"] = runs
    out["euidAfter"] = os.geteuid()
    # Copying a setuid binary keeps no setuid bit and no owner; setting the bit on our own copy gains nothing.
    data = open("/usr/bin/su", "rb").read()
    with open("/tmp/su", "wb") as f:
        f.write(data)
    os.chmod("/tmp/su", 0o4755)
    out["copyMode"] = oct(os.stat("/tmp/su").st_mode)
    out["copyOwner"] = os.stat("/tmp/su").st_uid
    out["chownRoot"] = attempt(lambda: os.chown("/tmp/su", 0, 0))
    return out

def fds(event):
    out = {}
    for fd in sorted(int(f) for f in os.listdir("/proc/self/fd")):
        try:
            out[str(fd)] = os.readlink("/proc/self/fd/%d" % fd)
        except OSError as e:
            out[str(fd)] = "gone:" + name(e.errno)
    return {"pid": os.getpid(), "fds": out}

def kernel(event):
    fd = os.open("/dev/null", os.O_RDONLY)
    image = ctypes.create_string_buffer(b"\\x7fELF" + b"\\0" * 64)
    out = {
        "init_module": sys_errno(175, image, 68, b""),
        "finit_module": sys_errno(313, fd, b"", 0),
        "delete_module": sys_errno(176, b"overlay", 0),
        "kexec_load": sys_errno(246, 0, 0, 0, 0),
        "mount_tmpfs": sys_errno(165, b"none", b"/tmp", b"tmpfs", 0, 0),
        "remount_root_rw": sys_errno(165, 0, b"/", 0, 0x20 | 0x1000, 0),  # MS_REMOUNT | MS_BIND
        "bind_proc": sys_errno(165, b"/proc", b"/tmp", 0, 0x1000, 0),
        "umount_mask": sys_errno(166, b"/proc/kcore", 2),  # MNT_DETACH
        "umount_proc": sys_errno(166, b"/proc", 2),
        "fsopen": sys_errno(430, b"tmpfs", 0),
        "open_tree": sys_errno(428, -100, b"/", 1 | 0x80000),  # OPEN_TREE_CLONE | AT_RECURSIVE
        "move_mount": sys_errno(429, -100, b"/tmp", -100, b"/usr", 0),
        "mount_setattr": sys_errno(442, -100, b"/", 0, 0, 0),
        "pivot_root": sys_errno(155, b"/tmp", b"/tmp"),
        "chroot": sys_errno(161, b"/tmp"),
        "unshare_userns": sys_errno(272, 0x10000000),
        "unshare_mntns": sys_errno(272, 0x00020000),
        "clone_newns": sys_errno(56, 0x00020000 | 17, 0, 0, 0, 0),  # CLONE_NEWNS | SIGCHLD
        "bpf": sys_errno(321, 0, 0, 0),
        "open_by_handle_at": sys_errno(304, -100, 0, 0),
    }
    os.close(fd)
    runs = {}
    for cmd in (["/usr/sbin/insmod", "/tmp/none.ko"], ["/usr/sbin/modprobe", "overlay"], ["/usr/bin/mount", "-t", "tmpfs", "none", "/tmp"], ["/usr/bin/umount", "/proc/kcore"]):
        if os.path.exists(cmd[0]):
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
            runs[" ".join(cmd)] = p.returncode
    out["runs"] = runs
    # Did anything change? The root is still read-only, /proc/kcore still masked, /tmp still the sandbox's.
    out["rootWritable"] = attempt(lambda: open("/owned", "w").close())
    out["kcoreSize"] = os.stat("/proc/kcore").st_size if os.path.exists("/proc/kcore") else 0
    return out

def connect(host, port, timeout):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        data = s.recv(100)
        return "connected:" + data.decode(errors="replace")
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return name(e.errno)
    finally:
        s.close()

def network(event):
    return {t["label"]: connect(t["host"], t["port"], event.get("timeout", 3)) for t in event["targets"]}

def listener(event):
    port = event["port"]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    srv.settimeout(0.2)
    accepted = []
    def serve():
        deadline = time.time() + event["seconds"]
        while time.time() < deadline:
            try:
                c, addr = srv.accept()
                accepted.append(addr[0])
                c.sendall(b"instance-secret")
                c.close()
            except socket.timeout:
                pass
    t = threading.Thread(target=serve)
    t.start()
    selfcheck = connect("127.0.0.1", port, 2)  # positive control: the listener is really there
    t.join()
    srv.close()
    return {"selfcheck": selfcheck, "accepted": accepted}

def handler(event, context):
    mode = event.get("mode", "sleep")
    if mode == "sleep":
        t0 = time.time()
        time.sleep(event.get("seconds", 0))
        return {"pid": os.getpid(), "slept": time.time() - t0, "procs": own_pids()}
    return globals()[mode](event)
`;

interface InstanceInfo {
  id: string;
  pid: number;
  state: string;
}

function instancesOf(name: string): InstanceInfo[] {
  return h.hearth.scheduler.stats(name).flatMap((s) => s.instances);
}

/**
 * The sandboxed process of an instance, as the host sees it: below its hearth-enter
 * supervisor (cold path), or the instance's own pid (forked from a template: already inside).
 */
function sandboxedChild(supervisorPid: number): number | undefined {
  try {
    const nspid = /^NSpid:\s*(.*)$/m.exec(fs.readFileSync(`/proc/${supervisorPid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
    if (nspid.length > 1) return supervisorPid;
  } catch {
    return undefined;
  }
  try {
    const children = fs.readFileSync(`/proc/${supervisorPid}/task/${supervisorPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return children[0];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let deployed = false;
async function deployAttackers(): Promise<void> {
  if (deployed) return;
  for (const [name, network] of [['iso-a', 'none'], ['iso-b', 'none'], ['iso-egress', 'egress']] as const) {
    await deployOk(h.url, writeFunction({ name, runtime: 'python3.11', handler: 'app.handler', timeoutS: 60, network }, { 'app.py': ATTACKER_PY }));
  }
  deployed = true;
}

async function call(name: string, event: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await invoke(h.url, name, event);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-amz-function-error'), null, `${name} ${String(event.mode)}: ${r.text}`);
  return r.body as Record<string, unknown>;
}

// ---- 1. cross-instance signals ------------------------------------------------------

test('an instance cannot find or signal another live instance, of its own function or another', { skip }, async (t) => {
  await deployAttackers();
  // Two victims in flight: one of iso-a (the attacker's own function) and one of iso-b.
  const victims = [invoke(h.url, 'iso-a', { mode: 'sleep', seconds: 10 }), invoke(h.url, 'iso-b', { mode: 'sleep', seconds: 10 })];
  await waitUntil('both victims busy', () => instancesOf('iso-a').some((i) => i.state === 'busy') && instancesOf('iso-b').some((i) => i.state === 'busy'));
  const supervisors = [...instancesOf('iso-a'), ...instancesOf('iso-b')].filter((i) => i.state === 'busy').map((i) => i.pid);
  assert.equal(supervisors.length, 2);
  await waitUntil('sandboxed children', () => supervisors.every((p) => sandboxedChild(p) !== undefined));
  // (Not pid 1: inside the sandbox that is the attacker itself.)
  const targets = [...supervisors, ...supervisors.map((p) => sandboxedChild(p)!), process.pid];
  const victimHostPids = [...supervisors, ...supervisors.map((p) => sandboxedChild(p)!)];

  // Attackers: a second instance of iso-a (the same function as a victim) and one of iso-b.
  const attacks = await Promise.all([call('iso-a', { mode: 'signals', pids: targets }), call('iso-b', { mode: 'signals', pids: targets })]);
  const attackEnd = Date.now();
  t.diagnostic(`attack results: ${JSON.stringify(attacks.map((a) => ({ ...a, guessable: (a.guessable as number[]).length })))}`);
  for (const a of attacks) {
    // Cold and fork paths alike: its own pid namespace and its own /proc (pid 1 is the attacker).
    assert.deepEqual(a.procs, [1], `the attacker sees only itself: ${JSON.stringify(a)}`);
    assert.deepEqual(a.guessable, [], 'no other pid exists in its pid namespace');
    for (const [pid, result] of Object.entries(a.hostPids as Record<string, string>)) assert.equal(result, 'ESRCH', `kill(${pid}) from inside`);
    for (const [pid, result] of Object.entries(a.pidfd as Record<string, string>)) assert.equal(result, 'ESRCH', `pidfd_open(${pid}) from inside`);
    assert.match(String(a.killAll), /^(ESRCH|allowed)$/);
  }
  // The victims were in flight during the whole attack, are still alive, and answer.
  for (const pid of victimHostPids) assert.equal(alive(pid), true, `victim process ${pid} survived`);
  assert.equal(alive(process.pid), true);
  const results = await Promise.all(victims);
  assert.ok(Date.now() >= attackEnd);
  for (const r of results) {
    assert.equal(r.headers.get('x-amz-function-error'), null, r.text);
    const body = r.body as { slept: number; procs: number[] };
    assert.ok(body.slept >= 9.9, 'the victim slept its full time: it was not interrupted');
  }
  // And they serve the next call (warm: the same instances).
  const again = await call('iso-b', { mode: 'sleep', seconds: 0 });
  assert.equal(again.pid, 1);
});

// ---- 2. /proc escapes -------------------------------------------------------------

test('/proc/self/exe, /proc/<pid>/root and the runtime binary do not lead out of the sandbox', { skip }, async () => {
  await deployAttackers();
  const supervisor = instancesOf('iso-a')[0]?.pid ?? process.pid;
  const p = await call('iso-a', { mode: 'proc_escape', dataDir: h.dataDir, pids: [process.pid, supervisor, 2] });
  assert.match(String(p.exe), /python3/);
  for (const key of ['exeWrite', 'exeRdwr', 'runtimeWrite', 'runtimeTrunc', 'runtimeChmod', 'bootstrapWrite']) {
    // (ENOENT: a forked instance's sandbox has no bootstrap mounted: its template loaded it before entering.)
    assert.match(String(p[key]), /^(ETXTBSY|EROFS|EACCES|EPERM|ENOENT)$/, `${key}: ${String(p[key])}`);
  }
  // /proc/1/root is the sandbox root (cold path: pid 1 is the instance itself), or out of reach (fork path).
  assert.ok(['allowed', 'EACCES'].includes(String(p.proc1root)), `proc1root: ${String(p.proc1root)}`);
  assert.ok(['allowed', 'EACCES'].includes(String(p.proc1rootSameInode)), `proc1rootSameInode: ${String(p.proc1rootSameInode)}`);
  assert.equal(p.selfRootShadow, 'ENOENT');
  assert.match(String(p.proc1RootShadow), /^(ENOENT|EACCES)$/);
  assert.match(String(p.proc1RootData), /^(ENOENT|EACCES)$/);
  assert.equal(p.cwdUp, true, '.. from the cwd stops at the sandbox root');
  // ENOENT: no such process in view; EACCES: a sibling or the template on the fork path (non-dumpable).
  for (const [pid, r] of Object.entries(p.hostPidRoot as Record<string, string>)) assert.match(r, /^(ENOENT|EACCES)$/, `/proc/${pid}/root`);
  for (const [pid, r] of Object.entries(p.hostPidExe as Record<string, string>)) assert.match(r, /^(ENOENT|EACCES)$/, `/proc/${pid}/exe`);
  // The binary on the host is untouched.
  const python = fs.realpathSync('/usr/bin/python3');
  assert.ok(fs.statSync(python).size > 1_000_000 && (fs.statSync(python).mode & 0o777) === 0o755);
});

test('a Node.js instance cannot write /proc/self/exe or its runtime binary', { skip }, async () => {
  await deployOk(
    h.url,
    writeFunction(
      { name: 'iso-node', runtime: 'nodejs20', handler: 'index.handler' },
      {
        'index.mjs': `import fs from 'node:fs';
const attempt = (f) => { try { f(); return 'allowed'; } catch (e) { return e.code; } };
export const handler = async () => ({
  exe: fs.readlinkSync('/proc/self/exe'),
  exeWrite: attempt(() => fs.closeSync(fs.openSync('/proc/self/exe', 'r+'))),
  runtimeWrite: attempt(() => fs.closeSync(fs.openSync(fs.realpathSync(process.execPath), 'r+'))),
  runtimeAppend: attempt(() => fs.appendFileSync(fs.realpathSync(process.execPath), 'x')),
  procs: fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)),
});`,
      },
    ),
  );
  const r = await invoke(h.url, 'iso-node');
  assert.equal(r.headers.get('x-amz-function-error'), null, r.text);
  const p = r.body as Record<string, unknown>;
  for (const key of ['exeWrite', 'runtimeWrite', 'runtimeAppend']) assert.match(String(p[key]), /^(ETXTBSY|EROFS|EACCES|EPERM)$/, `${key}: ${String(p[key])}`);
});

// ---- 3. setuid binaries -------------------------------------------------------------

test('setuid binaries give no privilege: the host ones, a setuid-root one in the code, a setuid one owned by the sandbox root', { skip }, async (t) => {
  await deployAttackers();
  const first = await call('iso-a', { mode: 'setuid', run: [] });
  const uidMap = first.uidMap as string[]; // [inside, outside, count]
  const sandboxRootOnHost = Number(uidMap[1]);
  assert.ok(sandboxRootOnHost >= 100000, `the sandbox root is an unprivileged host uid: ${uidMap.join(' ')}`);
  // Plant setuid copies of `id` in the function's code (the host's view; the code is bind-mounted live):
  // one owned by host root, one owned by the uid that is root inside this sandbox.
  const codeDir = h.hearth.registry.get('iso-a').codeDir;
  const planted = [path.join(codeDir, 'suid-host-root-id'), path.join(codeDir, 'suid-sandbox-root-id')];
  fs.copyFileSync('/usr/bin/id', planted[0]!);
  fs.chownSync(planted[0]!, 0, 0);
  fs.chmodSync(planted[0]!, 0o6755);
  fs.copyFileSync('/usr/bin/id', planted[1]!);
  fs.chownSync(planted[1]!, sandboxRootOnHost, sandboxRootOnHost);
  fs.chmodSync(planted[1]!, 0o6755);
  const hostSetuid = ['/usr/bin/su', '/usr/bin/passwd', '/usr/bin/mount', '/usr/bin/newgrp', '/usr/bin/chsh', '/usr/bin/gpasswd'].filter((f) => fs.existsSync(f) && (fs.statSync(f).mode & 0o4000) !== 0);
  const run = [
    ['/var/task/suid-host-root-id', '-u'],
    ['/var/task/suid-sandbox-root-id', '-u'],
    ['/var/task/suid-sandbox-root-id', '-g'],
    ['/usr/bin/su', '-c', 'id -u', 'root'],
    ['/usr/bin/passwd', '-d', 'root'],
    ['/usr/bin/mount', '-t', 'tmpfs', 'none', '/var/task'],
    ['/usr/bin/newgrp', 'root'],
    ['/usr/bin/chsh', '-s', '/bin/sh', 'root'],
    ['/usr/bin/gpasswd', '-a', 'hearth', 'root'],
  ];
  const p = await call('iso-a', { mode: 'setuid', run });
  t.diagnostic(`setuid runs: ${JSON.stringify(p.runs)}`);
  const runs = p.runs as Record<string, { rc: number | string; out: string; err: string; mode: string; missing?: boolean }>;
  assert.equal(instancesOf('iso-a').length >= 1, true);
  assert.equal(p.euid, 1000);
  assert.equal(p.euidAfter, 1000);
  assert.equal(p.noNewPrivs, '1');
  for (const key of ['usrFlags', 'taskFlags', 'tmpFlags']) assert.ok((p[key] as string[]).includes('nosuid'), `${key}: ${JSON.stringify(p[key])}`);
  // The planted binaries run, but as uid/gid 1000: the setuid bit is ignored.
  assert.equal(runs['/var/task/suid-host-root-id -u']?.out, '1000', JSON.stringify(runs));
  assert.equal(runs['/var/task/suid-sandbox-root-id -u']?.out, '1000', JSON.stringify(runs));
  assert.equal(runs['/var/task/suid-sandbox-root-id -g']?.out, '1000', JSON.stringify(runs));
  // The host's setuid programs run without privilege: each one fails.
  assert.ok(hostSetuid.length > 0, 'the host has setuid programs to try');
  for (const [cmd, r] of Object.entries(runs)) {
    if (cmd.startsWith('/var/task/') || r.missing) continue;
    assert.notEqual(r.rc, 0, `${cmd} must fail: ${JSON.stringify(r)}`);
    assert.notEqual(r.out, '0', `${cmd} printed uid 0`);
  }
  assert.equal(p.copyOwner, 1000, 'a copy belongs to the function');
  assert.equal(p.chownRoot, 'EPERM');
  // Nothing changed on the host.
  assert.equal(fs.statSync('/usr/bin/su').mode & 0o4000, 0o4000);
});

// ---- 4. inherited fds ---------------------------------------------------------------

test('an instance holds only its own fds: stdio, the protocol channel; nothing of the host or hearth', { skip }, async (t) => {
  await deployAttackers();
  const p = await call('iso-b', { mode: 'fds' });
  const fds = p.fds as Record<string, string>;
  t.diagnostic(`fds inside: ${JSON.stringify(fds)}`);
  // 0: /dev/null (stdin), 1 and 2: Unix sockets to hearth's log reader (Node's 'pipe' stdio is a
  // socketpair), 3: the protocol channel (a Unix socket), plus the directory fd of the listing
  // itself (already closed when it is read: "gone").
  assert.equal(fds['0'], '/dev/null', JSON.stringify(fds));
  for (const fd of ['1', '2', '3']) assert.match(fds[fd]!, /^socket:\[\d+\]$/, JSON.stringify(fds));
  const extra = Object.entries(fds).filter(([fd]) => Number(fd) > 3);
  for (const [fd, target] of extra) assert.match(target, /^(gone:ENOENT|\/proc\/\d+\/fd)$/, `unexpected fd ${fd} -> ${target}`);

  // The host's view of the same process: no fd is a file of hearth's data dir (the DB, code,
  // logs), and its only socket is the channel whose other end hearth (this process) holds.
  const supervisor = instancesOf('iso-b').find((i) => i.state === 'idle')!.pid;
  const sandboxed = sandboxedChild(supervisor)!;
  const dataFiles = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      const st = fs.statSync(full);
      dataFiles.add(`${st.dev}:${st.ino}`);
      if (e.isDirectory()) walk(full);
    }
  };
  walk(h.dataDir);
  const mine = new Set(fs.readdirSync('/proc/self/fd').map((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  }));
  let sockets = 0;
  for (const fd of fs.readdirSync(`/proc/${sandboxed}/fd`)) {
    const link = fs.readlinkSync(`/proc/${sandboxed}/fd/${fd}`);
    const st = fs.statSync(`/proc/${sandboxed}/fd/${fd}`);
    assert.equal(dataFiles.has(`${st.dev}:${st.ino}`), false, `fd ${fd} (${link}) is a file of hearth's data dir`);
    if (link.startsWith('socket:')) {
      sockets++;
      assert.ok(['1', '2', '3'].includes(fd), `socket on fd ${fd}`);
      // The peer of the instance's end: `ss` shows the inode pair; the peer must be one of hearth's own fds.
      const inode = /socket:\[(\d+)\]/.exec(link)![1]!;
      const ss = execFileSync('ss', ['-xanH'], { encoding: 'utf8' });
      const line = ss.split('\n').find((l) => l.split(/\s+/)[5] === inode);
      assert.ok(line, `socket ${inode} listed by ss`);
      const peer = line.split(/\s+/)[7]!;
      assert.ok(mine.has(`socket:[${peer}]`), `the channel's other end (${peer}) is held by hearth`);
    }
  }
  assert.equal(sockets, 3, 'three sockets: stdout, stderr and the channel');
});

// ---- 5. kernel modules and mounts ------------------------------------------------------

test('kernel modules, kexec, bpf and every way to mount are denied', { skip }, async () => {
  await deployAttackers();
  const p = await call('iso-b', { mode: 'kernel' });
  for (const key of ['init_module', 'finit_module', 'delete_module', 'kexec_load', 'mount_tmpfs', 'remount_root_rw', 'bind_proc', 'umount_mask', 'umount_proc', 'fsopen', 'open_tree', 'move_mount', 'mount_setattr', 'pivot_root', 'chroot', 'unshare_userns', 'unshare_mntns', 'clone_newns', 'bpf', 'open_by_handle_at']) {
    assert.equal(p[key], 'EPERM', `${key}: ${String(p[key])}`);
  }
  for (const [cmd, rc] of Object.entries(p.runs as Record<string, number>)) assert.notEqual(rc, 0, `${cmd} exited 0`);
  assert.match(String(p.rootWritable), /^(EROFS|EACCES)$/);
  assert.equal(p.kcoreSize, 0, '/proc/kcore is still masked');
});

// ---- 6. network ------------------------------------------------------------------------

test('network: no function reaches the API, the host, host loopback or another instance; egress reaches a remote host, none does not', { skip }, async (t) => {
  await deployAttackers();
  const apiPort = Number(new URL(h.url).port);
  const loopPort = await listen('127.0.0.1');
  const anyPort = await listen('0.0.0.0');
  const hostAddrs = hostIPv4Addresses();
  assert.ok(hostAddrs.includes(REMOTE_HOST_SIDE), `the host's addresses include the veth side: ${hostAddrs.join(' ')}`);
  // Positive controls from the host: the servers and the remote host answer.
  for (const [host, port] of [['127.0.0.1', loopPort], [hostAddrs[0]!, anyPort], [REMOTE_ADDR, remotePort]] as const) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    assert.equal(ok, true, `host reaches ${host}:${port}`);
  }

  // Listeners inside instances (network none and egress), alive for the whole probe.
  const listenPort = 18080;
  const listeners = [invoke(h.url, 'iso-a', { mode: 'listener', port: listenPort, seconds: 14 }), invoke(h.url, 'iso-egress', { mode: 'listener', port: listenPort, seconds: 14 })];
  await waitUntil('listeners busy', () => instancesOf('iso-a').some((i) => i.state === 'busy') && instancesOf('iso-egress').some((i) => i.state === 'busy'));

  const targets = [
    { label: 'api-loopback', host: '127.0.0.1', port: apiPort },
    { label: 'host-loopback', host: '127.0.0.1', port: loopPort },
    { label: 'host-loopback-via-gateway', host: '10.0.2.2', port: loopPort },
    { label: 'api-via-gateway', host: '10.0.2.2', port: apiPort },
    { label: 'host-any-via-gateway', host: '10.0.2.2', port: anyPort },
    { label: 'instance-loopback', host: '127.0.0.1', port: listenPort },
    { label: 'instance-egress-address', host: '10.0.2.100', port: listenPort },
    { label: 'instance-via-gateway', host: '10.0.2.2', port: listenPort },
    { label: 'metadata', host: '169.254.169.254', port: 80 },
    ...hostAddrs.flatMap((a) => [
      { label: `host-${a}`, host: a, port: anyPort },
      { label: `api-${a}`, host: a, port: apiPort },
    ]),
  ];
  const remote = { label: 'remote', host: REMOTE_ADDR, port: remotePort };
  const [none, egress] = await Promise.all([call('iso-b', { mode: 'network', targets: [...targets, remote] }), call('iso-egress', { mode: 'network', targets: [...targets, remote] })]);
  t.diagnostic(`network none: ${JSON.stringify(none)}`);
  t.diagnostic(`network egress: ${JSON.stringify(egress)}`);
  for (const [label, result] of [...Object.entries(none), ...Object.entries(egress)]) {
    if (label === 'remote') continue;
    assert.doesNotMatch(String(result), /^connected/, `${label}: ${String(result)}`);
  }
  // End to end through hearth: the egress function reaches the remote host; the 'none' one cannot.
  assert.equal(egress.remote, 'connected:hello from the remote host');
  assert.match(String(none.remote), /^(ENETUNREACH|EHOSTUNREACH)$/);
  assert.match(String(none['host-any-via-gateway']), /^(ENETUNREACH|EHOSTUNREACH)$/);

  const done = await Promise.all(listeners);
  for (const r of done) {
    assert.equal(r.headers.get('x-amz-function-error'), null, r.text);
    const body = r.body as { selfcheck: string; accepted: string[] };
    assert.equal(body.selfcheck, 'connected:instance-secret', 'the listener was really listening');
    assert.deepEqual(body.accepted, ['127.0.0.1'], 'nobody but the instance itself connected');
  }
});

// ---- 7. noisy neighbours ------------------------------------------------------------------

const P50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test('noisy neighbours (CPU spinner, memory hog, crash loop) do not break or stall a victim', { skip }, async (t) => {
  await deployOk(h.url, writeFunction({ name: 'nn-victim', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'def handler(e, c):\n    return {"ok": sum(range(1000))}\n' }));
  await deployOk(h.url, writeFunction({ name: 'nn-spin', runtime: 'python3.11', handler: 'app.handler', timeoutS: 2 }, { 'app.py': 'import threading\ndef spin():\n    while True:\n        pass\ndef handler(e, c):\n    for _ in range(3):\n        threading.Thread(target=spin, daemon=True).start()\n    spin()\n' }));
  await deployOk(h.url, writeFunction({ name: 'nn-hog', runtime: 'python3.11', handler: 'app.handler', memoryMB: 64 }, { 'app.py': 'def handler(e, c):\n    x = []\n    while True:\n        x.append(bytearray(8 * 2**20))\n' }));
  await deployOk(h.url, writeFunction({ name: 'nn-crash', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'import ctypes\ndef handler(e, c):\n    ctypes.string_at(0)\n' }));

  const victimCall = async (): Promise<number> => {
    const t0 = performance.now();
    const r = await invoke(h.url, 'nn-victim');
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-amz-function-error'), null, r.text);
    return ms;
  };
  await victimCall(); // cold start
  const quiet: number[] = [];
  for (let i = 0; i < 60; i++) quiet.push(await victimCall());

  let stop = false;
  const kinds = { spin: new Set<string>(), hog: new Set<string>(), crash: new Set<string>() };
  const noise = (name: 'spin' | 'hog' | 'crash'): Promise<void> =>
    (async () => {
      while (!stop) {
        const r = await invoke(h.url, `nn-${name}`);
        kinds[name].add(r.headers.get('x-hearth-error-kind') ?? `ok:${r.status}`);
      }
    })();
  const noisy = [noise('spin'), noise('hog'), noise('crash')];
  await new Promise((r) => setTimeout(r, 1000)); // let the noise start
  const loud: number[] = [];
  try {
    for (let i = 0; i < 60; i++) loud.push(await victimCall());
  } finally {
    stop = true;
    await Promise.all(noisy);
  }
  assert.ok(kinds.spin.has('timeout'), `the spinner hit its timeout: ${[...kinds.spin].join(',')}`);
  assert.ok(kinds.hog.has('oom'), `the hog was OOM-killed: ${[...kinds.hog].join(',')}`);
  assert.ok(kinds.crash.has('crash'), `the crasher crashed: ${[...kinds.crash].join(',')}`);
  const [q, l] = [P50(quiet), P50(loud)];
  t.diagnostic(`victim P50 quiet ${q.toFixed(2)} ms, under noise ${l.toFixed(2)} ms; noise outcomes ${JSON.stringify(Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, [...v]])))}`);
  // Loose on purpose (2 shared cores, other jobs running): bench/noisy-neighbour.ts measures precisely.
  assert.ok(l <= 3 * q + 20, `victim P50 under noise ${l.toFixed(1)} ms vs quiet ${q.toFixed(1)} ms`);
});
