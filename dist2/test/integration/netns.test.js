// The network namespace pool on the real kernel. Needs root, iproute2, nsenter and
// slirp4netns. Traffic only ever goes to this machine: the test's own servers on the
// host, in pooled namespaces, and in a test namespace acting as "the internet".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { EGRESS_ADDRESS, EGRESS_GATEWAY, NetnsPool, hostIPv4Addresses } from '../../src/sandbox/netns-pool.js';
const isRoot = process.getuid?.() === 0;
const hasTools = ['/usr/bin/slirp4netns', '/usr/bin/nsenter'].every((f) => fs.existsSync(f)) && spawnSync('ip', ['-V']).status === 0;
const skip = !isRoot ? 'needs root' : !hasTools ? 'needs iproute2, nsenter (util-linux) and slirp4netns' : false;
const TAG = `${process.pid % 100000}${Date.now().toString(36).slice(-4)}`;
const PREFIX = `hearth-t${TAG}`;
// "The internet": a namespace joined to the host by a veth pair on a benchmarking-range /30.
const INET_NS = `hearth-inet${TAG}`;
const VETH = `hve${TAG}`.slice(0, 15);
const INET_HOST_SIDE = '198.18.0.1';
const INET_ADDR = '198.18.0.2';
function ipNetnsList() {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.split(' ')[0])
        .filter(Boolean);
}
/** True when a TCP connection from inside `nsPath` to host:port succeeds (bash /dev/tcp, 3 s timeout). */
function canConnect(nsPath, host, port) {
    const r = spawnSync('nsenter', [`--net=${nsPath}`, '--', 'timeout', '3', '/bin/bash', '-c', 'exec 3<>"/dev/tcp/$0/$1" && echo CONNECTED', host, String(port)], { encoding: 'utf8' });
    return r.stdout.includes('CONNECTED');
}
/** A TCP server in the namespace at `nsPath` (or the host when null), listening on `host`. */
async function serverIn(nsPath, host) {
    const script = `const s=require('net').createServer(c=>c.end('hi')).listen(0,${JSON.stringify(host)},()=>console.log(s.address().port))`;
    const args = nsPath ? [`--net=${nsPath}`, '--', process.execPath, '-e', script] : null;
    const child = args ? spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((resolve, reject) => {
        child.stdout.once('data', (d) => resolve(Number(d.toString().trim())));
        child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    return { port, child };
}
describe('netns pool', { skip }, () => {
    const pool = skip ? null : new NetnsPool({ prefix: PREFIX, minIdle: { none: 2, egress: 2 }, maxIdle: { none: 4, egress: 3 } });
    const servers = [];
    const hostServers = [];
    let helperPids = [];
    before(async () => {
        execFileSync('ip', ['netns', 'add', INET_NS]);
        execFileSync('ip', ['link', 'add', VETH, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', INET_NS]);
        execFileSync('ip', ['addr', 'add', `${INET_HOST_SIDE}/30`, 'dev', VETH]);
        execFileSync('ip', ['link', 'set', VETH, 'up']);
        execFileSync('ip', ['-n', INET_NS, 'addr', 'add', `${INET_ADDR}/30`, 'dev', 'eth0']);
        execFileSync('ip', ['-n', INET_NS, 'link', 'set', 'eth0', 'up']);
        execFileSync('ip', ['-n', INET_NS, 'link', 'set', 'lo', 'up']);
        await pool.start();
    });
    after(async () => {
        for (const s of servers)
            s.kill('SIGKILL');
        for (const s of hostServers)
            s.close();
        helperPids = [...new Set([...helperPids, ...pool.helperPids()])];
        await pool.close();
        spawnSync('ip', ['link', 'del', VETH]);
        spawnSync('ip', ['netns', 'del', INET_NS]);
        const left = ipNetnsList().filter((n) => n.startsWith(PREFIX) || n === INET_NS);
        assert.deepEqual(left, [], 'namespaces left behind');
        for (const pid of helperPids)
            assert.equal(fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), false, `helper ${pid} still running`);
    });
    test('start fills the pool; namespaces are named under /run/netns', () => {
        const stats = pool.stats();
        assert.equal(stats.idle.none, 2);
        assert.equal(stats.idle.egress, 2);
        for (const name of pool.names()) {
            assert.ok(name.startsWith(`${PREFIX}-`));
            assert.ok(ipNetnsList().includes(name));
        }
        helperPids = pool.helperPids();
        assert.equal(helperPids.length, 2);
    });
    test("a 'none' namespace has only lo, up, and no routes out", async () => {
        const { netns, fromPool } = await pool.acquire('none');
        assert.equal(fromPool, true);
        const links = JSON.parse(execFileSync('ip', ['-j', '-n', netns.name, 'link', 'show'], { encoding: 'utf8' }));
        assert.deepEqual(links.map((l) => l.ifname), ['lo']);
        assert.ok(links[0].flags.includes('UP'));
        assert.equal(execFileSync('ip', ['-n', netns.name, 'route', 'show'], { encoding: 'utf8' }).trim(), '');
        assert.equal(canConnect(netns.path, INET_ADDR, 80), false);
        assert.equal(await netns.release(), 'reused');
    });
    test('an egress namespace has a default route and reaches "the internet"', async () => {
        const { netns } = await pool.acquire('egress');
        const routes = execFileSync('ip', ['-n', netns.name, 'route', 'show'], { encoding: 'utf8' });
        assert.match(routes, new RegExp(`^default via ${EGRESS_GATEWAY.replace(/\./g, '\\.')} dev tap0`, 'm'));
        const inet = await serverIn(`/run/netns/${INET_NS}`, '0.0.0.0');
        servers.push(inet.child);
        assert.equal(canConnect(netns.path, INET_ADDR, inet.port), true, 'egress to a non-host address works');
        await netns.release();
    });
    test("egress cannot reach the host's loopback or any of the host's own addresses", async () => {
        const { netns } = await pool.acquire('egress');
        const loop = net.createServer((c) => c.end('secret')).listen(0, '127.0.0.1');
        const any = net.createServer((c) => c.end('secret')).listen(0, '0.0.0.0');
        hostServers.push(loop, any);
        await Promise.all([new Promise((r) => loop.once('listening', r)), new Promise((r) => any.once('listening', r))]);
        const loopPort = loop.address().port;
        const anyPort = any.address().port;
        // Sanity: the servers are reachable from the host itself.
        assert.equal(spawnSync('timeout', ['3', '/bin/bash', '-c', 'exec 3<>"/dev/tcp/$0/$1" && echo CONNECTED', '127.0.0.1', String(loopPort)], { encoding: 'utf8' }).stdout.includes('CONNECTED'), true);
        assert.equal(canConnect(netns.path, '127.0.0.1', loopPort), false, 'host 127.0.0.1 via own loopback');
        assert.equal(canConnect(netns.path, EGRESS_GATEWAY, loopPort), false, 'host loopback via the gateway');
        assert.equal(canConnect(netns.path, EGRESS_GATEWAY, anyPort), false, 'host 0.0.0.0 service via the gateway');
        const addresses = hostIPv4Addresses();
        assert.ok(addresses.length > 0);
        for (const address of addresses)
            assert.equal(canConnect(netns.path, address, anyPort), false, `host address ${address}`);
        loop.close();
        any.close();
        await netns.release();
    });
    test('two pooled namespaces cannot reach each other', async () => {
        const a = await pool.acquire('egress');
        const b = await pool.acquire('egress');
        const c = await pool.acquire('none');
        assert.notEqual(a.netns.path, b.netns.path);
        const server = await serverIn(a.netns.path, '0.0.0.0');
        servers.push(server.child);
        assert.equal(canConnect(a.netns.path, '127.0.0.1', server.port), true, 'sanity: reachable inside its own namespace');
        for (const target of [EGRESS_ADDRESS, EGRESS_GATEWAY, '127.0.0.1', ...hostIPv4Addresses()]) {
            assert.equal(canConnect(b.netns.path, target, server.port), false, `egress -> ${target}`);
            assert.equal(canConnect(c.netns.path, target, server.port), false, `none -> ${target}`);
        }
        // The server still runs in a: release must refuse to reuse a namespace with a live socket.
        assert.equal(await a.netns.release(), 'destroyed');
        server.child.kill('SIGKILL');
        await b.netns.release();
        await c.netns.release();
        assert.equal(fs.existsSync(a.netns.path), false);
    });
    test('release + reacquire leaves no state: added addresses and routes are gone', async () => {
        for (const kind of ['none', 'egress']) {
            const { netns } = await pool.acquire(kind);
            execFileSync('ip', ['-n', netns.name, 'addr', 'add', '10.99.0.1/24', 'dev', 'lo']);
            execFileSync('ip', ['-n', netns.name, 'route', 'add', '10.98.0.0/16', 'via', '10.99.0.2']);
            execFileSync('ip', ['-n', netns.name, '-6', 'route', 'add', 'fd99::/64', 'dev', 'lo']);
            const verdict = await netns.release();
            assert.ok(verdict === 'reset' || verdict === 'destroyed', verdict);
            // Reacquire every idle namespace of the kind: none has the additions.
            const leases = [];
            for (let i = 0; i < pool.stats().idle[kind] + 1; i++)
                leases.push((await pool.acquire(kind)).netns);
            for (const n of leases) {
                const dump = execFileSync('ip', ['-n', n.name, 'addr', 'show'], { encoding: 'utf8' }) + execFileSync('ip', ['-n', n.name, 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
                assert.doesNotMatch(dump, /10\.99\.|10\.98\.|fd99/);
            }
            for (const n of leases)
                await n.release();
        }
    });
    test('the target follows demand', async () => {
        const small = new NetnsPool({ prefix: `${PREFIX}d`, minIdle: { none: 1, egress: 0 }, maxIdle: { none: 6, egress: 0 } });
        try {
            await small.start();
            assert.equal(small.stats().target.none, 1);
            const leases = [];
            for (let i = 0; i < 10; i++)
                leases.push(await small.acquire('none'));
            assert.ok(small.stats().target.none > 1, JSON.stringify(small.stats()));
            assert.ok(small.stats().target.none <= 6);
            for (const l of leases)
                await l.netns.release();
            assert.ok(small.stats().idle.none <= 6);
        }
        finally {
            await small.close();
        }
        assert.deepEqual(ipNetnsList().filter((n) => n.startsWith(`${PREFIX}d`)), []);
    });
    test('close() removes every namespace and helper process', async () => {
        const held = await pool.acquire('egress'); // still in use at close
        helperPids = [...new Set([...helperPids, ...pool.helperPids()])];
        assert.ok(ipNetnsList().includes(held.netns.name));
        await pool.close();
        assert.deepEqual(ipNetnsList().filter((n) => n.startsWith(PREFIX)), []);
        for (const pid of helperPids) {
            const alive = fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
            assert.equal(alive, false, `helper ${pid} still running`);
        }
        await assert.rejects(pool.acquire('none'), /closed/);
    });
});
//# sourceMappingURL=netns.test.js.map