// The sandbox shell pool: function-agnostic shells created ahead of demand, handed
// to any function, and purged before reuse.
//
// A shell is
//   * a cgroup group <hearth root>/shells/s<k>-g<generation>/ (unassigned: no limits until
//     acquired; while assigned it is function F's cgroup) with a leaf 'template' for the
//     process that becomes F's template, and one leaf per instance forked from it,
//   * a network namespace from the NetnsPool (kind chosen at acquire),
//   * scratch directories on tmpfs for the writable layer (overlay upper + work) and /tmp,
//   * a host uid/gid range for the sandbox's user namespace (uidBase + idsPerShell * index).
//
// Purge (before a shell goes to another function): every process in its cgroup
// killed; the shell's cgroups removed and created anew (fresh counters, no limits, no
// charges left from the last tenant); scratch directories deleted and re-created
// empty; the network namespace checked and reset, or destroyed when anything is left.
// What a tenant could hold a handle to (processes, sockets, files, its mount and
// user namespaces) does not survive: the processes that held them are dead.
import { BackgroundRefill } from './background-refill.js';
import fs from 'node:fs';
import path from 'node:path';
import { HearthError } from '../errors.js';
const TMPFS_MAGIC = 0x01021994;
class Shell {
    bare;
    netns;
    request;
    timings;
    id;
    index;
    cgroup;
    templateCgroup;
    scratch;
    ids;
    uses;
    constructor(bare, netns, request, timings) {
        this.bare = bare;
        this.netns = netns;
        this.request = request;
        this.timings = timings;
        this.id = `shell-${bare.index}`;
        this.index = bare.index;
        this.cgroup = bare.cgroup;
        this.templateCgroup = bare.template;
        this.scratch = bare.scratch;
        this.ids = bare.ids;
        this.uses = bare.uses;
    }
    createInstanceCgroup(id) {
        if (this.bare.cgroup !== this.cgroup)
            throw new HearthError('HEARTH_E_INTERNAL', `${this.id} was purged: it has no instances any more`);
        return this.cgroup.createInstance(id, { memoryMB: this.request.memoryMB, pidsMax: this.request.pidsMax });
    }
}
export class ShellPool {
    scratchRoot;
    cgroups;
    netnsPool;
    uidBase;
    idsPerShell;
    maxShells;
    minIdle;
    maxIdle;
    windowMs;
    leadTimeMs;
    refillEnabled;
    group = null;
    idle = [];
    inUse = new Set();
    usedIndexes = new Set();
    acquireTimes = [];
    creating = 0;
    counts = { created: 0, purged: 0, destroyed: 0, hits: 0, misses: 0 };
    started = false;
    closed = false;
    refiller = new BackgroundRefill(() => this.refill(), () => this.refillEnabled && !this.closed);
    timer = null;
    /** The last failure of a background refill or a purge. */
    get lastRefillError() {
        return this.refiller.lastError;
    }
    constructor(options) {
        this.cgroups = options.cgroups;
        this.netnsPool = options.netns;
        this.scratchRoot = path.join(options.scratchParent ?? '/dev/shm', `${options.cgroups.rootName}-shells`);
        this.uidBase = options.uidBase ?? 100000;
        this.idsPerShell = options.idsPerShell ?? 65536;
        this.maxShells = options.maxShells ?? 1024;
        this.minIdle = options.minIdle ?? 2;
        this.maxIdle = Math.max(this.minIdle, options.maxIdle ?? 32);
        this.windowMs = options.windowMs ?? 10_000;
        this.leadTimeMs = options.leadTimeMs ?? 2000;
        this.refillEnabled = options.refill ?? true;
        if (!Number.isInteger(this.uidBase) || this.uidBase < 1 || this.uidBase + this.idsPerShell * this.maxShells > 2 ** 32 - 2) {
            throw new HearthError('HEARTH_E_INTERNAL', `shell pool: uid range ${this.uidBase} + ${this.idsPerShell} x ${this.maxShells} does not fit in 32-bit ids`);
        }
    }
    /** Creates the 'shells' cgroup group and the scratch root (removing leftovers), then fills to minIdle. */
    async start() {
        if (this.started)
            return;
        const parent = path.dirname(this.scratchRoot);
        let type;
        try {
            type = Number(fs.statfsSync(parent).type);
        }
        catch (error) {
            throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `shell pool: scratch parent ${parent} is not usable: ${error.message}`);
        }
        if (type !== TMPFS_MAGIC)
            throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `shell pool: scratch parent ${parent} is not on tmpfs (the writable layers must live in memory)`);
        fs.rmSync(this.scratchRoot, { recursive: true, force: true });
        fs.mkdirSync(this.scratchRoot, { mode: 0o711 });
        fs.chmodSync(this.scratchRoot, 0o711);
        const existing = this.cgroups.getGroup('shells');
        this.group = existing ?? this.cgroups.createGroup('shells');
        this.started = true;
        if (this.refillEnabled) {
            await this.refill();
            this.timer = setInterval(() => this.kick(), 1000);
            this.timer.unref();
        }
    }
    target() {
        const now = Date.now();
        while (this.acquireTimes.length > 0 && this.acquireTimes[0] < now - this.windowMs)
            this.acquireTimes.shift();
        return Math.min(this.maxIdle, this.minIdle + Math.ceil((this.acquireTimes.length * this.leadTimeMs) / this.windowMs));
    }
    /** A shell with the function's limits applied and a network namespace of the asked kind. */
    async acquire(request) {
        if (!this.started || this.closed)
            throw new HearthError('HEARTH_E_SHUTTING_DOWN', 'shell pool is not running');
        const t0 = performance.now();
        this.acquireTimes.push(Date.now());
        let bare = this.idle.shift();
        const fromPool = bare !== undefined;
        if (bare)
            this.counts.hits++;
        else {
            this.counts.misses++;
            bare = this.createBare();
        }
        const t1 = performance.now();
        let lease;
        try {
            lease = await this.netnsPool.acquire(request.netKind);
        }
        catch (error) {
            this.returnBare(bare);
            throw error;
        }
        const t2 = performance.now();
        try {
            bare.cgroup.setLimits({ memoryMB: request.groupMemoryMB, pidsMax: request.groupPidsMax, cpuWeight: request.cpuWeight });
            bare.template.setLimits({ memoryMB: request.memoryMB, pidsMax: request.pidsMax });
        }
        catch (error) {
            await lease.netns.release().catch(() => undefined);
            this.returnBare(bare);
            throw error;
        }
        const t3 = performance.now();
        bare.uses++;
        const shell = new Shell(bare, lease.netns, { ...request }, { fromPool, netnsFromPool: lease.fromPool, shellMs: t1 - t0, netnsMs: t2 - t1, limitsMs: t3 - t2, totalMs: t3 - t0 });
        this.inUse.add(shell);
        this.kick();
        return shell;
    }
    /**
     * Kills everything in the shell, resets cgroup, scratch and network namespace,
     * and returns it to the pool. If any step fails the shell is destroyed instead.
     */
    async purge(shell) {
        const s = this.own(shell);
        this.inUse.delete(s);
        const bare = s.bare;
        try {
            await bare.cgroup.killAll();
            await bare.cgroup.remove();
            bare.generation++;
            this.makeCgroups(bare);
            this.makeScratch(bare.scratch, bare.ids);
            await s.netns.release();
        }
        catch (error) {
            await this.destroyBare(bare, s.netns).catch(() => undefined);
            this.refiller.lastError = error;
            this.kick();
            return 'destroyed';
        }
        this.counts.purged++;
        if (this.closed || this.idle.length >= this.maxIdle) {
            await this.destroyBare(bare, null);
            return 'destroyed';
        }
        bare.idleSince = Date.now();
        this.idle.push(bare);
        this.kick();
        return 'pooled';
    }
    /** Kills everything in the shell and removes it for good (its netns too). */
    async destroy(shell) {
        const s = this.own(shell);
        this.inUse.delete(s);
        await this.destroyBare(s.bare, s.netns);
    }
    stats() {
        return { idle: this.idle.length, inUse: this.inUse.size, target: this.target(), ...this.counts };
    }
    /** Removes every shell (idle and in use): processes, cgroups, scratch, namespaces it holds. */
    async close() {
        if (this.closed)
            return;
        this.closed = true;
        if (this.timer)
            clearInterval(this.timer);
        await this.refiller.settled();
        const errors = [];
        for (const s of [...this.inUse]) {
            this.inUse.delete(s);
            await this.destroyBare(s.bare, s.netns).catch((e) => errors.push(e));
        }
        for (const bare of this.idle.splice(0))
            await this.destroyBare(bare, null).catch((e) => errors.push(e));
        if (this.group)
            await this.group.remove().catch((e) => errors.push(e));
        fs.rmSync(this.scratchRoot, { recursive: true, force: true });
        if (errors.length > 0)
            throw new HearthError('HEARTH_E_INTERNAL', `shell pool close: ${errors.map((e) => e.message).join('; ')}`);
    }
    own(shell) {
        if (!(shell instanceof Shell) || !this.inUse.has(shell))
            throw new HearthError('HEARTH_E_INTERNAL', `shell ${shell.id} is not in use from this pool (purged twice?)`);
        return shell;
    }
    returnBare(bare) {
        bare.cgroup.setLimits({});
        bare.template.setLimits({});
        bare.idleSince = Date.now();
        this.idle.unshift(bare);
    }
    createBare() {
        let index = 0;
        while (this.usedIndexes.has(index))
            index++;
        if (index >= this.maxShells)
            throw new HearthError('HEARTH_E_CAPACITY', `shell pool: all ${this.maxShells} shells are in use`);
        this.usedIndexes.add(index);
        const ids = { uid: this.uidBase + index * this.idsPerShell, gid: this.uidBase + index * this.idsPerShell, count: this.idsPerShell };
        const dir = path.join(this.scratchRoot, `s${index}`);
        const scratch = { dir, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), tmp: path.join(dir, 'tmp') };
        const bare = { index, generation: 0, scratch, ids, uses: 0, idleSince: Date.now() };
        try {
            this.makeCgroups(bare);
            this.makeScratch(scratch, ids);
        }
        catch (error) {
            if (bare.cgroup)
                void bare.cgroup.remove().catch(() => undefined);
            fs.rmSync(dir, { recursive: true, force: true });
            this.usedIndexes.delete(index);
            throw error;
        }
        this.counts.created++;
        return bare;
    }
    /** A new generation of the shell's cgroups: the group and its 'template' leaf, no limits. */
    makeCgroups(bare) {
        bare.cgroup = this.group.createGroup(`s${bare.index}-g${bare.generation}`);
        bare.template = bare.cgroup.createInstance('template');
    }
    /** (Re)creates empty scratch directories owned by the range's root. */
    makeScratch(scratch, ids) {
        fs.rmSync(scratch.dir, { recursive: true, force: true });
        fs.mkdirSync(scratch.dir, { mode: 0o700 });
        for (const d of [scratch.upper, scratch.work])
            fs.mkdirSync(d, { mode: 0o755 });
        fs.mkdirSync(scratch.tmp, { mode: 0o1777 });
        fs.chmodSync(scratch.tmp, 0o1777);
        for (const d of [scratch.dir, scratch.upper, scratch.work, scratch.tmp])
            fs.chownSync(d, ids.uid, ids.gid);
    }
    async destroyBare(bare, netns) {
        // The index (and so the id range) is freed only when nothing of the shell is left.
        await bare.cgroup.killAll();
        await bare.cgroup.remove();
        fs.rmSync(bare.scratch.dir, { recursive: true, force: true });
        this.usedIndexes.delete(bare.index);
        this.counts.destroyed++;
        if (netns)
            await netns.destroy();
    }
    /** Starts a background refill (on the next turn of the event loop, off the caller's path). */
    kick() {
        this.refiller.kick();
    }
    async refill() {
        while (!this.closed && this.idle.length + this.creating < this.target() && this.usedIndexes.size < this.maxShells) {
            this.creating++;
            try {
                const bare = this.createBare();
                this.idle.push(bare);
            }
            finally {
                this.creating--;
            }
            await new Promise((resolve) => setImmediate(resolve)); // let acquirers in between
        }
        const oldest = this.idle[0];
        if (!this.closed && oldest && this.idle.length > this.target() && Date.now() - oldest.idleSince > this.windowMs) {
            this.idle.shift();
            await this.destroyBare(oldest, null);
        }
    }
}
//# sourceMappingURL=shell-pool.js.map