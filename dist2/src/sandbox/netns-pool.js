// A pool of pre-created network namespaces, so that an instance joins a ready one
// with setns (~0.02 ms) instead of creating and wiring one (~28 ms).
//
// Kinds:
//   none   — only loopback, up. No way out.
//   egress — a tap device served by slirp4netns (user-mode TCP/IP in a helper
//            process on the host side). Connections leave as ordinary sockets of
//            that helper, so the host needs no ip_forward, no NAT and no firewall
//            rules. Protections, all inside the namespace or in the helper:
//              * --disable-host-loopback: 10.0.2.2 (the gateway) does not reach the host's 127.0.0.0/8;
//              * "prohibit" routes for every destination the host itself answers on
//                (its local routing table: every address of every interface, local
//                prefixes, broadcast addresses; re-checked at acquire and release) and
//                `blockedDestinations` (default 169.254.0.0/16, cloud metadata), so
//                services on the host (hearth's API included) are unreachable on any
//                address;
//              * each namespace has its own private 10.0.2.0/24: instances have no
//                address the host or another instance can reach.
//            The tenant cannot change these: the namespace belongs to the host user
//            namespace, where the sandbox holds no CAP_NET_ADMIN.
//            slirp4netns runs with --enable-sandbox (own mount namespace, pivot_root,
//            capabilities dropped) and --enable-seccomp, in a private mount
//            namespace (`unshare --mount --propagation private`): without it, the
//            sandbox's unmounts propagate to the host and detach the /run/netns bind
//            mounts.
//
// Names: /run/netns/<prefix>-<n|e><seq> (as `ip netns add` makes them), so the enter
// sequence can setns by path and `ip netns list` shows them.
import { BackgroundRefill } from './background-refill.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { HearthError } from '../errors.js';
export const NET_KINDS = ['none', 'egress'];
export const NETNS_DIR = '/run/netns';
/** The egress namespace's own address and gateway (slirp4netns defaults). */
export const EGRESS_ADDRESS = '10.0.2.100';
export const EGRESS_GATEWAY = '10.0.2.2';
function run(binary, args, input) {
    return new Promise((resolve, reject) => {
        const child = spawn(binary, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d.toString()));
        child.stderr.on('data', (d) => (stderr += d.toString()));
        child.on('error', (error) => reject(new HearthError('HEARTH_E_HOST_UNSUPPORTED', `cannot run ${binary}: ${error.message}`)));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        if (input !== undefined)
            child.stdin.end(input);
    });
}
async function runOk(binary, args, what, input) {
    const r = await run(binary, args, input);
    if (r.code !== 0)
        throw new HearthError('HEARTH_E_INTERNAL', `netns: ${what} failed (${binary} ${args.join(' ')} exited ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
}
function findBinary(name) {
    for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
        if (!dir)
            continue;
        const candidate = `${dir}/${name}`;
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        }
        catch {
            /* next */
        }
    }
    return name;
}
/** LOCAL and BROADCAST entries of the host's routing tables (/proc/net/fib_trie), 127.0.0.0/8 excluded. */
function hostLocalEntries() {
    let text = '';
    try {
        text = fs.readFileSync('/proc/net/fib_trie', 'utf8');
    }
    catch {
        /* fallback below */
    }
    const out = [];
    let last = '';
    for (const line of text.split('\n')) {
        const leaf = /\|-- (\d+\.\d+\.\d+\.\d+)$/.exec(line);
        if (leaf) {
            last = leaf[1];
            continue;
        }
        const kind = /^\s+\/(\d+) \w+ (LOCAL|BROADCAST)\b/.exec(line);
        if (kind && last && !last.startsWith('127.'))
            out.push({ address: last, prefixLength: kind[2] === 'BROADCAST' ? 32 : Number(kind[1]), broadcast: kind[2] === 'BROADCAST' });
    }
    if (out.length === 0) {
        // No /proc/net/fib_trie: the addresses of the interfaces that are up.
        for (const list of Object.values(os.networkInterfaces())) {
            for (const a of list ?? [])
                if (a.family === 'IPv4' && !a.address.startsWith('127.'))
                    out.push({ address: a.address, prefixLength: 32, broadcast: false });
        }
    }
    return out;
}
/**
 * IPv4 destinations the host itself answers on, as CIDRs: every LOCAL entry of its
 * routing tables (each address of each interface, whatever the interface's state, and
 * local prefixes) and broadcast addresses. 127.0.0.0/8 is left out: inside a namespace
 * it is the namespace's own loopback, and slirp4netns does not map the host's.
 */
export function hostLocalDestinations() {
    return [...new Set(hostLocalEntries().map((e) => `${e.address}/${e.prefixLength}`))].sort();
}
/** The host's own IPv4 addresses (non-loopback). */
export function hostIPv4Addresses() {
    return [...new Set(hostLocalEntries().filter((e) => !e.broadcast && e.prefixLength === 32).map((e) => e.address))].sort();
}
/** TCP states a socket can be in without any process holding it (orphans winding down). */
const ORPHAN_TCP_STATES = new Set(['04', '05', '06', '07', '09', '0B']); // FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, LAST_ACK, CLOSING
const SOCKET_FILES = ['tcp', 'tcp6', 'udp', 'udp6', 'udplite', 'udplite6', 'raw', 'raw6', 'packet', 'unix'];
/** `ip -j -batch` commands whose JSON output (one array per line, in order) is the configuration. */
const INSPECT_COMMANDS = ['link show', 'addr show', 'route show table all', 'rule show', 'neigh show nud permanent'];
const SECTIONS = ['link', 'addr', 'route', 'rule', 'neigh'];
// Runs inside the namespace (nsenter --net): prints the configuration as JSON, flushes the
// neighbour caches (after the dump: dynamic entries are not part of the configuration),
// then the socket tables, each line prefixed by its file. Three processes in all.
const INSPECT_SCRIPT = [
    "ip -j -batch - <<'EOF'",
    ...INSPECT_COMMANDS,
    'EOF',
    'ip neigh flush all >/dev/null 2>&1',
    'echo "#sockets"',
    `grep -H '' ${SOCKET_FILES.map((f) => `/proc/net/${f}`).join(' ')} 2>/dev/null`,
    'true',
].join('\n');
/** Sockets that a process must hold (listening, connected, bound UDP/raw/packet/unix). */
function liveSockets(lines) {
    const live = [];
    for (const line of lines) {
        const m = /^\/proc\/net\/(\w+):(.*)$/.exec(line);
        if (!m)
            continue;
        const file = m[1];
        const t = m[2].trim();
        if (!t || /^(sl|Num|sk)\b/.test(t))
            continue; // headers
        if (file === 'tcp' || file === 'tcp6') {
            const st = t.split(/\s+/)[3];
            if (st && ORPHAN_TCP_STATES.has(st))
                continue;
        }
        live.push(`${file}: ${t}`);
    }
    return live;
}
/** The JSON lines of INSPECT_COMMANDS (commands that change things print nothing with -j). */
function parseConfigDump(out, name) {
    const lines = out.split('\n').filter((l) => l.startsWith('['));
    if (lines.length !== SECTIONS.length)
        throw new HearthError('HEARTH_E_INTERNAL', `netns: unexpected configuration dump of ${name}: ${out.slice(0, 300)}`);
    const config = new Map();
    SECTIONS.forEach((section, i) => config.set(section, JSON.parse(lines[i])));
    return config;
}
function parseInspection(out) {
    const lines = out.split('\n');
    const marker = lines.indexOf('#sockets');
    if (marker !== SECTIONS.length)
        throw new HearthError('HEARTH_E_INTERNAL', `netns: unexpected inspection output: ${out.slice(0, 300)}`);
    const config = new Map();
    SECTIONS.forEach((section, i) => config.set(section, JSON.parse(lines[i])));
    return { config, sockets: liveSockets(lines.slice(marker + 1)) };
}
function entryKeys(config, section) {
    const entries = config.get(section) ?? [];
    if (section === 'addr') {
        // One key per address, so that an added address shows as one extra.
        return entries.flatMap((link) => (link.addr_info ?? []).map((a) => JSON.stringify({ dev: link.ifname, ...a })));
    }
    // Links: what configuration decides (carrier and operstate follow the helper asynchronously).
    if (section === 'link')
        return entries.map((l) => JSON.stringify({ ifindex: l.ifindex, ifname: l.ifname, link_type: l.link_type, mtu: l.mtu, up: Array.isArray(l.flags) && l.flags.includes('UP'), master: l.master }));
    return entries.map((e) => JSON.stringify(e));
}
function configKey(config) {
    return SECTIONS.map((s) => `${s}:\n${entryKeys(config, s).sort().join('\n')}`).join('\n');
}
function isV6(route) {
    return [route.dst, route.gateway, route.prefsrc].some((v) => typeof v === 'string' && v.includes(':'));
}
/** `ip route del` arguments for a route from `ip -j route show`. */
function routeDelArgs(r) {
    const parts = [];
    if (typeof r.type === 'string' && r.type !== 'unicast')
        parts.push(r.type);
    parts.push(String(r.dst));
    if (typeof r.gateway === 'string')
        parts.push('via', r.gateway);
    if (typeof r.dev === 'string')
        parts.push('dev', r.dev);
    parts.push('table', typeof r.table === 'string' ? r.table : 'main');
    if (typeof r.metric === 'number')
        parts.push('metric', String(r.metric));
    return parts.join(' ');
}
class Netns {
    pool;
    name;
    kind;
    path;
    uses = 0;
    state = 'creating';
    idleSince = 0;
    pristine = '';
    pristineSections = new Map();
    hostKey = '';
    helper = null;
    helperExited = Promise.resolve();
    constructor(pool, name, kind) {
        this.pool = pool;
        this.name = name;
        this.kind = kind;
        this.path = `${NETNS_DIR}/${name}`;
    }
    release() {
        return this.pool.releaseNetns(this);
    }
    destroy() {
        return this.pool.destroyNetns(this);
    }
}
/**
 * Pre-created network namespaces with background refill to a target that follows
 * demand. start() removes leftovers of a crashed run with the same prefix;
 * close() removes every namespace and helper process it made.
 */
export class NetnsPool {
    prefix;
    ip;
    nsenter;
    unshare;
    slirp;
    minIdle;
    maxIdle;
    windowMs;
    leadTimeMs;
    blocked;
    refillEnabled;
    idle = { none: [], egress: [] };
    all = new Set();
    acquireTimes = { none: [], egress: [] };
    creating = { none: 0, egress: 0 };
    createdCount = { none: 0, egress: 0 };
    createMsTotal = { none: 0, egress: 0 };
    destroyedCount = 0;
    hits = 0;
    misses = 0;
    seq = 0;
    closed = false;
    started = false;
    refiller = new BackgroundRefill(() => this.refill(), () => this.refillEnabled && !this.closed);
    timer = null;
    /** Last error of the background refill (it retries on the next tick). */
    get lastRefillError() {
        return this.refiller.lastError;
    }
    constructor(options = {}) {
        this.prefix = options.prefix ?? 'hearth';
        if (!/^hearth[A-Za-z0-9_-]{0,40}$/.test(this.prefix))
            throw new HearthError('HEARTH_E_INTERNAL', `netns prefix '${this.prefix}' must start with 'hearth' (letters, digits, '-', '_')`);
        this.ip = options.ipBinary ?? findBinary('ip');
        this.nsenter = options.nsenterBinary ?? findBinary('nsenter');
        this.unshare = options.unshareBinary ?? findBinary('unshare');
        this.slirp = options.slirp4netnsBinary ?? findBinary('slirp4netns');
        this.minIdle = { none: options.minIdle?.none ?? 2, egress: options.minIdle?.egress ?? 1 };
        this.maxIdle = { none: Math.max(this.minIdle.none, options.maxIdle?.none ?? 32), egress: Math.max(this.minIdle.egress, options.maxIdle?.egress ?? 8) };
        this.windowMs = options.windowMs ?? 10_000;
        this.leadTimeMs = options.leadTimeMs ?? 2000;
        this.blocked = options.blockedDestinations ?? ['169.254.0.0/16'];
        for (const cidr of this.blocked) {
            if (!/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(cidr))
                throw new HearthError('HEARTH_E_INTERNAL', `netns: blocked destination '${cidr}' is not an IPv4 address or CIDR`);
        }
        this.refillEnabled = options.refill ?? true;
    }
    /** Removes leftovers of this prefix, then fills the pool to its minimum (awaited). */
    async start() {
        if (this.started)
            return;
        this.started = true;
        await this.ensureNetnsDir();
        await this.removeStale();
        if (this.refillEnabled) {
            await this.refill();
            this.timer = setInterval(() => this.kick(), 1000);
            this.timer.unref();
        }
    }
    /** Makes /run/netns the shared bind mount `ip netns` uses (ip sets it up on first use). */
    async ensureNetnsDir() {
        const mounted = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === NETNS_DIR);
        if (mounted)
            return;
        const probe = `${this.prefix}-setup`;
        await runOk(this.ip, ['netns', 'add', probe], `setting up ${NETNS_DIR}`);
        await runOk(this.ip, ['netns', 'del', probe], `setting up ${NETNS_DIR}`);
    }
    async removeStale() {
        let names = [];
        try {
            names = fs.readdirSync(NETNS_DIR).filter((n) => n.startsWith(`${this.prefix}-`) && /^[ne]\d+$/.test(n.slice(this.prefix.length + 1)));
        }
        catch (error) {
            if (error.code !== 'ENOENT')
                throw error;
        }
        // Helpers of a crashed run exit by themselves (their --exit-fd closed with the old hearth).
        for (const name of names)
            await runOk(this.ip, ['netns', 'del', name], `removing stale namespace ${name}`);
    }
    /** The idle count each kind is refilled to: minIdle plus the acquires expected within the lead time. */
    target(kind) {
        const now = Date.now();
        const times = this.acquireTimes[kind];
        while (times.length > 0 && times[0] < now - this.windowMs)
            times.shift();
        const expected = Math.ceil((times.length * this.leadTimeMs) / this.windowMs);
        return Math.min(this.maxIdle[kind], this.minIdle[kind] + expected);
    }
    /** A ready namespace of `kind`: an idle pooled one, or a new one when none is idle. */
    async acquire(kind) {
        if (this.closed)
            throw new HearthError('HEARTH_E_SHUTTING_DOWN', 'netns pool is closed');
        if (!NET_KINDS.includes(kind))
            throw new HearthError('HEARTH_E_INTERNAL', `unknown network kind '${kind}'`);
        const t0 = performance.now();
        this.acquireTimes[kind].push(Date.now());
        // Idle egress namespaces made before the host's addresses changed block the wrong ones: drop them.
        if (kind === 'egress' && this.idle.egress.length > 0) {
            const hostKey = hostLocalDestinations().join(',');
            for (const stale of this.idle.egress.filter((n) => n.hostKey !== hostKey))
                void this.destroyNetns(stale).catch(() => undefined);
        }
        let netns = this.idle[kind].shift();
        const fromPool = netns !== undefined;
        if (netns)
            this.hits++;
        else {
            this.misses++;
            netns = await this.create(kind);
        }
        netns.state = 'busy';
        netns.uses++;
        this.kick();
        return { netns, fromPool, ms: performance.now() - t0 };
    }
    stats() {
        const inUse = { none: 0, egress: 0 };
        for (const n of this.all)
            if (n.state === 'busy')
                inUse[n.kind]++;
        return {
            idle: { none: this.idle.none.length, egress: this.idle.egress.length },
            inUse,
            target: { none: this.target('none'), egress: this.target('egress') },
            created: { ...this.createdCount },
            destroyed: this.destroyedCount,
            hits: this.hits,
            misses: this.misses,
            meanCreateMs: {
                none: this.createdCount.none ? this.createMsTotal.none / this.createdCount.none : 0,
                egress: this.createdCount.egress ? this.createMsTotal.egress / this.createdCount.egress : 0,
            },
        };
    }
    /** Every namespace this pool has now (idle and in use). */
    names() {
        return [...this.all].map((n) => n.name);
    }
    /** Pids of the egress helper processes alive now. */
    helperPids() {
        return [...this.all].map((n) => n.helper?.pid).filter((p) => typeof p === 'number');
    }
    /** Starts a background refill (on the next turn of the event loop, off the caller's path). */
    kick() {
        this.refiller.kick();
    }
    /** Creates idle namespaces up to the target, one at a time; trims idle ones beyond it. */
    async refill() {
        for (;;) {
            if (this.closed)
                return;
            const kind = NET_KINDS.find((k) => this.idle[k].length + this.creating[k] < this.target(k));
            if (!kind)
                break;
            this.creating[kind]++;
            try {
                const netns = await this.create(kind);
                if (this.closed) {
                    await this.destroyNetns(netns);
                    return;
                }
                this.makeIdle(netns);
            }
            finally {
                this.creating[kind]--;
            }
        }
        // Shrink slowly: one namespace idle for longer than the window, per tick.
        for (const kind of NET_KINDS) {
            const oldest = this.idle[kind][0];
            if (this.idle[kind].length > this.target(kind) && oldest && Date.now() - oldest.idleSince > this.windowMs) {
                this.idle[kind].shift();
                await this.destroyNetns(oldest);
            }
        }
    }
    makeIdle(netns) {
        netns.state = 'idle';
        netns.idleSince = Date.now();
        this.idle[netns.kind].push(netns);
    }
    nextName(kind) {
        return `${this.prefix}-${kind === 'none' ? 'n' : 'e'}${++this.seq}`;
    }
    async create(kind) {
        const t0 = performance.now();
        const netns = new Netns(this, this.nextName(kind), kind);
        this.all.add(netns);
        try {
            // Every process hearth spawns costs milliseconds here, so: one process (unshare
            // execs ip) creates the namespace, binds it to /run/netns/<name>, configures it and
            // dumps the configuration. Egress adds the helper and one `ip -n` for the tap device.
            fs.writeFileSync(netns.path, '', { flag: 'wx', mode: 0o444 });
            netns.hostKey = hostLocalDestinations().join(',');
            const lines = this.configLines(netns);
            const dump = [...INSPECT_COMMANDS].join('\n') + '\n';
            let out;
            if (kind === 'none') {
                out = await runOk(this.unshare, [`--net=${netns.path}`, '--', this.ip, '-j', '-batch', '-'], `creating namespace ${netns.name}`, lines.join('\n') + '\n' + dump);
            }
            else {
                await runOk(this.unshare, [`--net=${netns.path}`, '--', this.ip, 'link', 'set', 'lo', 'up'], `creating namespace ${netns.name}`);
                await this.startHelper(netns);
                out = await runOk(this.ip, ['-n', netns.name, '-j', '-batch', '-'], `configuring ${netns.name}`, lines.filter((l) => l !== 'link set lo up').join('\n') + '\n' + dump);
            }
            const inspection = { config: parseConfigDump(out, netns.name) };
            netns.pristine = configKey(inspection.config);
            netns.pristineSections = new Map(SECTIONS.map((sec) => [sec, new Set(entryKeys(inspection.config, sec))]));
        }
        catch (error) {
            await this.destroyNetns(netns).catch(() => undefined);
            throw error;
        }
        this.createdCount[kind]++;
        this.createMsTotal[kind] += performance.now() - t0;
        return netns;
    }
    /** The `ip -batch` lines that make a namespace's pristine configuration. */
    configLines(netns) {
        const lines = ['link set lo up'];
        if (netns.kind === 'egress') {
            lines.push(
            // No IPv6 link-local address: the namespace has no IPv6 way out, and its config stays stable.
            'link set tap0 addrgenmode none', 'link set tap0 mtu 1500 up', `addr add ${EGRESS_ADDRESS}/24 dev tap0`, `route add default via ${EGRESS_GATEWAY} dev tap0`, ...netns.hostKey.split(',').filter(Boolean).map((cidr) => `route add prohibit ${cidr}`), ...this.blocked.map((cidr) => `route add prohibit ${cidr.includes('/') ? cidr : `${cidr}/32`}`));
        }
        return lines;
    }
    startHelper(netns) {
        // fd 3: slirp4netns writes '1' when the tap device is ready; fd 4: it exits when this end closes
        // (also when hearth dies, so helpers never outlive the pool).
        const args = ['--mount', '--propagation', 'private', this.slirp, '--netns-type=path', '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp', '--mtu=1500', '--ready-fd=3', '--exit-fd=4', netns.path, 'tap0'];
        const child = spawn(this.unshare, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
        netns.helper = child;
        let stderr = '';
        child.stderr.on('data', (d) => {
            stderr = (stderr + d.toString()).slice(-2000);
        });
        netns.helperExited = new Promise((resolve) => child.on('close', () => resolve()));
        return new Promise((resolve, reject) => {
            const ready = child.stdio[3];
            const timer = setTimeout(() => fail(new Error('not ready after 10 s')), 10_000);
            const fail = (error) => {
                clearTimeout(timer);
                reject(new HearthError('HEARTH_E_INTERNAL', `netns: slirp4netns for ${netns.name} failed: ${error.message}; ${stderr.trim()}`));
            };
            child.on('error', (error) => fail(new Error(`cannot run ${this.unshare}/${this.slirp}: ${error.message}`)));
            child.on('exit', (code, signal) => fail(new Error(`exited (${signal ?? code}) before it was ready`)));
            ready.once('data', () => {
                clearTimeout(timer);
                child.removeAllListeners('exit');
                resolve();
            });
        });
    }
    async inspect(netns) {
        const out = await runOk(this.nsenter, [`--net=${netns.path}`, '--', '/bin/sh', '-c', INSPECT_SCRIPT], `inspecting ${netns.name}`);
        return parseInspection(out);
    }
    /** @internal — PooledNetns.release() */
    async releaseNetns(netns) {
        if (netns.state !== 'busy')
            throw new HearthError('HEARTH_E_INTERNAL', `netns ${netns.name} released twice or after destroy`);
        const verdict = await this.checkAndReset(netns).catch(() => 'destroy');
        if (verdict === 'destroy' || this.closed || this.idle[netns.kind].length >= this.maxIdle[netns.kind]) {
            await this.destroyNetns(netns);
            this.kick();
            return 'destroyed';
        }
        this.makeIdle(netns);
        this.kick();
        return verdict;
    }
    async checkAndReset(netns) {
        if (netns.kind === 'egress' && (netns.helper?.exitCode !== null || netns.helper?.signalCode !== null))
            return 'destroy';
        // The host got or lost an address since: the prohibit routes would be stale.
        if (hostLocalDestinations().join(',') !== netns.hostKey)
            return 'destroy';
        let inspection = await this.inspect(netns);
        if (inspection.sockets.length > 0)
            return 'destroy'; // a process outside the sandbox holds a socket here
        if (configKey(inspection.config) === netns.pristine)
            return 'reused';
        // Remove what was added (addresses, routes); anything else different: destroy.
        const extra = (section) => {
            const keys = entryKeys(inspection.config, section);
            const entries = section === 'addr' ? keys.map((k) => JSON.parse(k)) : (inspection.config.get(section) ?? []);
            return entries.filter((_, i) => !netns.pristineSections.get(section)?.has(keys[i]));
        };
        if (extra('link').length > 0 || extra('rule').length > 0 || extra('neigh').length > 0)
            return 'destroy';
        const v4 = [];
        const v6 = [];
        for (const a of extra('addr'))
            v4.push(`addr del ${String(a.local)}/${String(a.prefixlen)} dev ${String(a.dev)}`);
        for (const r of extra('route'))
            (isV6(r) ? v6 : v4).push(`route del ${routeDelArgs(r)}`);
        if (v4.length > 0)
            await run(this.ip, ['-n', netns.name, '-force', '-batch', '-'], v4.join('\n') + '\n');
        if (v6.length > 0)
            await run(this.ip, ['-6', '-n', netns.name, '-force', '-batch', '-'], v6.join('\n') + '\n');
        inspection = await this.inspect(netns);
        return inspection.sockets.length === 0 && configKey(inspection.config) === netns.pristine ? 'reset' : 'destroy';
    }
    /** @internal — PooledNetns.destroy() */
    async destroyNetns(netns) {
        if (netns.state === 'destroyed')
            return;
        netns.state = 'destroyed';
        const idleIndex = this.idle[netns.kind].indexOf(netns);
        if (idleIndex !== -1)
            this.idle[netns.kind].splice(idleIndex, 1);
        const helper = netns.helper;
        if (helper) {
            if (helper.exitCode === null && helper.signalCode === null) {
                helper.stdio[4]?.destroy();
                helper.kill('SIGTERM');
                const killer = setTimeout(() => helper.kill('SIGKILL'), 2000);
                await netns.helperExited;
                clearTimeout(killer);
            }
            for (const s of helper.stdio)
                s?.destroy?.();
        }
        if (fs.existsSync(netns.path)) {
            const r = await run(this.ip, ['netns', 'del', netns.name]);
            if (r.code !== 0 && fs.existsSync(netns.path)) {
                // Not (or no longer) a mount: a creation that failed before the bind mount.
                try {
                    fs.unlinkSync(netns.path);
                }
                catch (error) {
                    throw new HearthError('HEARTH_E_INTERNAL', `netns: deleting ${netns.name} failed: ${r.stderr.trim()}; unlink: ${error.message}`);
                }
            }
        }
        this.all.delete(netns);
        this.destroyedCount++;
    }
    /** Removes every namespace (idle and in use) and helper process. */
    async close() {
        this.closed = true;
        if (this.timer)
            clearInterval(this.timer);
        this.timer = null;
        await this.refiller.settled();
        const errors = [];
        for (const netns of [...this.all])
            await this.destroyNetns(netns).catch((error) => errors.push(error));
        this.idle.none = [];
        this.idle.egress = [];
        if (errors.length > 0)
            throw new HearthError('HEARTH_E_INTERNAL', `netns pool close: ${errors.map((e) => e.message).join('; ')}`);
    }
}
//# sourceMappingURL=netns-pool.js.map