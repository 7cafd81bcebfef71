// Cold instances inside sandboxes (HEARTH_SANDBOX=1): hostile probes from inside
// an instance must fail. Real kernel, real processes; needs root.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { deployOk, invoke, startTestHearth, writeFunction } from '../helpers.js';
const skip = process.getuid?.() !== 0 ? 'sandboxes need root' : false;
let h;
before(async () => {
    if (!skip)
        h = await startTestHearth({ sandbox: true });
});
after(async () => {
    await h?.cleanup();
});
const PROBE_PY = `import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)

def attempt(fn):
    try:
        fn()
        return "allowed"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def read(path):
    with open(path, "rb") as f:
        f.read(1)

def write(path):
    with open(path, "w") as f:
        f.write("x")

def connect(port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    finally:
        s.close()

def syscall_errno(result):
    return "allowed" if result == 0 else errno.errorcode.get(ctypes.get_errno(), "?")

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return line.split()[1]

def handler(event, context):
    return {
        "uid": os.getuid(), "gid": os.getgid(),
        "capEff": status("CapEff"), "noNewPrivs": status("NoNewPrivs"), "seccomp": status("Seccomp"),
        "shadow": attempt(lambda: read("/etc/shadow")),
        "dataDir": attempt(lambda: os.listdir(event["dataDir"])),
        "hostRoot": attempt(lambda: os.listdir("/root")),
        "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "writeCode": attempt(lambda: write("/var/task/owned")),
        "writeRoot": attempt(lambda: write("/owned")),
        "writeUsr": attempt(lambda: write("/usr/owned")),
        "writeTmp": attempt(lambda: write("/tmp/ok")),
        "api": attempt(lambda: connect(event["apiPort"])),
        "mount": syscall_errno(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
        "unshare": syscall_errno(libc.unshare(0x10000000)),
        "ptrace": syscall_errno(libc.ptrace(16, 1, 0, 0)),
        "kill1": attempt(lambda: os.kill(1, 0)) if os.getpid() != 1 else "self",
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
    }
`;
test('a sandboxed Python instance cannot reach the host, the API or other processes', { skip }, async () => {
    await deployOk(h.url, writeFunction({ name: 'probe-py', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': PROBE_PY }));
    const r = await invoke(h.url, 'probe-py', { dataDir: h.dataDir, apiPort: Number(new URL(h.url).port) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-amz-function-error'), null, r.text);
    const p = r.body;
    assert.equal(p.uid, 1000);
    assert.equal(p.gid, 1000);
    assert.equal(p.capEff, '0000000000000000');
    assert.equal(p.noNewPrivs, '1');
    assert.equal(p.seccomp, '2');
    assert.equal(p.shadow, 'ENOENT');
    assert.equal(p.dataDir, 'ENOENT');
    assert.equal(p.hostRoot, 'ENOENT');
    assert.ok(p.procs.length <= 3, `sees only its own processes: ${JSON.stringify(p.procs)}`);
    assert.match(String(p.writeCode), /^(EROFS|EACCES)$/);
    assert.match(String(p.writeRoot), /^(EROFS|EACCES)$/);
    assert.match(String(p.writeUsr), /^(EROFS|EACCES)$/);
    assert.equal(p.writeTmp, 'allowed');
    assert.match(String(p.api), /^(ECONNREFUSED|ENETUNREACH|EHOSTUNREACH|ETIMEDOUT)$/);
    assert.equal(p.mount, 'EPERM');
    assert.equal(p.unshare, 'EPERM');
    assert.equal(p.ptrace, 'EPERM');
    assert.deepEqual(p.interfaces, ['lo'], 'network "none": loopback only');
});
test('a sandboxed Node.js instance runs its handler and cannot read host files', { skip }, async () => {
    await deployOk(h.url, writeFunction({ name: 'probe-node', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': `import fs from 'node:fs';\nconst attempt = (f) => { try { f(); return 'allowed'; } catch (e) { return e.code; } };\nexport const handler = async (e) => ({ shadow: attempt(() => fs.readFileSync('/etc/shadow')), passwd: fs.readFileSync('/etc/passwd', 'utf8').split('\\n').length, uid: process.getuid(), data: attempt(() => fs.readdirSync(e.dataDir)), tmp: attempt(() => fs.writeFileSync('/tmp/x', 'y')) });` }));
    const r = await invoke(h.url, 'probe-node', { dataDir: h.dataDir });
    assert.equal(r.headers.get('x-amz-function-error'), null, r.text);
    const p = r.body;
    assert.equal(p.shadow, 'ENOENT');
    assert.equal(p.data, 'ENOENT');
    assert.equal(p.uid, 1000);
    assert.equal(p.tmp, 'allowed');
    assert.ok(p.passwd <= 5, 'a generated /etc/passwd, not the host one');
});
test('a fork bomb and a memory hog stay inside their sandbox', { skip }, async () => {
    await deployOk(h.url, writeFunction({ name: 'bomb', runtime: 'python3.11', handler: 'app.handler', timeoutS: 10 }, { 'app.py': 'import os\ndef handler(e, c):\n    n = 0\n    for _ in range(2000):\n        try:\n            if os.fork() == 0:\n                import time; time.sleep(30); os._exit(0)\n            n += 1\n        except OSError:\n            break\n    return n\n' }));
    const bomb = await invoke(h.url, 'bomb');
    assert.equal(bomb.headers.get('x-amz-function-error'), null, bomb.text);
    assert.ok(bomb.body < 300, `the pids limit stopped the fork bomb at ${String(bomb.body)}`);
    await deployOk(h.url, writeFunction({ name: 'hog', runtime: 'python3.11', handler: 'app.handler', memoryMB: 128 }, { 'app.py': 'def handler(e, c):\n    x = b"x" * (400 * 2**20)\n    return len(x)\n' }));
    const hog = await invoke(h.url, 'hog');
    assert.equal(hog.headers.get('x-hearth-error-kind'), 'oom', hog.text);
    // The host and other functions are fine.
    assert.equal((await invoke(h.url, 'probe-node', { dataDir: h.dataDir })).status, 200);
});
test('nothing survives an instance: files, background processes; the next instance starts clean', { skip }, async () => {
    await deployOk(h.url, writeFunction({ name: 'leaver', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'import os, time\ndef handler(e, c):\n    seen = os.path.exists("/tmp/marker")\n    procs = []\n    for p in os.listdir("/proc"):\n        try:\n            procs.append(open("/proc/%s/cmdline" % p).read()) if p.isdigit() else None\n        except OSError:\n            pass\n    if e.get("leave"):\n        open("/tmp/marker", "w").write("x")\n        if os.fork() == 0:\n            os.setsid()\n            os.execv("/usr/bin/sleep", ["sleep", "600.4242"])\n    return {"seen": seen, "procs": procs}\n' }));
    // The background process is started as `sleep 600.4242`: look for it anywhere on the host.
    const leftovers = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\u0000600.4242\u0000';
        }
        catch {
            return false;
        }
    });
    const first = await invoke(h.url, 'leaver', { leave: true });
    assert.equal(first.body.seen, false, first.text);
    // The child execs sleep right after the fork: give it a moment to appear.
    for (let i = 0; i < 100 && leftovers().length === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
    assert.equal(leftovers().length, 1, 'the function left a background process running');
    // Stop the instance (as keep-alive expiry would); its shell is purged.
    await h.hearth.scheduler.removeFunction('leaver');
    assert.deepEqual(leftovers(), [], 'the background process died with its instance');
    const next = await invoke(h.url, 'leaver');
    const body = next.body;
    assert.equal(body.seen, false, 'the next instance does not see the old /tmp');
    assert.ok(body.procs.length >= 1, next.text);
    // (On the fork path the sandbox's /proc also lists the template; see docs/security.md.)
    assert.ok(!body.procs.some((cmdline) => cmdline.includes('600.4242')), `and no process of the old one: ${JSON.stringify(body.procs)}`);
});
//# sourceMappingURL=sandbox.test.js.map