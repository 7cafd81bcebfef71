// Cgroups for functions and instances, on cgroup v2 (preferred when it has the
// controllers) or cgroup v1 (one hierarchy per controller).
//
// Layout (per hierarchy; v2 has one, v1 one per controller):
//   <mount>/<parent>/<rootName>/                 hearth's root, created at start, removed at close
//   <mount>/<parent>/<rootName>/<group>/         a group: one per function, plus 'shells' for the sandbox pool
//   <mount>/<parent>/<rootName>/<group>/<leaf>/  a leaf: one per instance (or pooled shell); processes live only here
//
// Memory on v1 is charged to the cgroup a process was in when it first touched a
// page, so a template's pages stay charged to the template's leaf and each
// instance's own pages to the instance's leaf: the instance limit is the function's
// manifest memory, applied to every leaf. Group limits are optional caps on the sum.
import fs from 'node:fs';
import path from 'node:path';
import { HearthError } from '../errors.js';

export type CgroupVersion = 'v1' | 'v2';
/** Controllers hearth uses. 'freezer' is v1 only (used by killAll). */
export type CgroupController = 'memory' | 'pids' | 'cpu' | 'freezer';

const V1_CONTROLLERS: CgroupController[] = ['memory', 'pids', 'cpu', 'freezer'];
const V2_CONTROLLERS: CgroupController[] = ['memory', 'pids', 'cpu'];

export interface V1Hierarchy {
  /** Mount point of the hierarchy holding this controller. */
  mountPoint: string;
  /** This process's cgroup in it (from /proc/self/cgroup). */
  ownPath: string;
}

export interface CgroupHost {
  /** v2 when its hierarchy offers memory+pids (and so hearth uses it), else v1 when v1 has memory+pids, else null. */
  preferred: CgroupVersion | null;
  v2: { mountPoint: string; controllers: string[]; ownPath: string } | null;
  /** v1 controllers hearth knows, by controller name. */
  v1: Partial<Record<CgroupController, V1Hierarchy>>;
  /** Human-readable notes on what is missing (empty when preferred is set and complete). */
  problems: string[];
}

interface MountEntry {
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const sep = line.indexOf(' - ');
    if (sep === -1) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = (left[4] ?? '').replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    entries.push({ mountPoint, fsType: right[0] ?? '', superOptions: (right[2] ?? '').split(',') });
  }
  return entries;
}

/** Detects the cgroup layout of this host from /proc/self/mountinfo and /proc/self/cgroup. */
export function detectCgroupHost(): CgroupHost {
  const mounts = parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  const own = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') own.set('', m[3]!);
    else for (const c of m[2]!.split(',')) own.set(c, m[3]!);
  }
  const host: CgroupHost = { preferred: null, v2: null, v1: {}, problems: [] };
  const v2Mount = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2Mount) {
    let controllers: string[] = [];
    try {
      controllers = fs.readFileSync(path.join(v2Mount.mountPoint, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      /* unreadable: treat as none */
    }
    host.v2 = { mountPoint: v2Mount.mountPoint, controllers, ownPath: own.get('') ?? '/' };
  }
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    for (const c of V1_CONTROLLERS) {
      if (m.superOptions.includes(c) && !host.v1[c]) host.v1[c] = { mountPoint: m.mountPoint, ownPath: own.get(c) ?? '/' };
    }
  }
  const v2Has = (c: string): boolean => host.v2?.controllers.includes(c) ?? false;
  if (v2Has('memory') && v2Has('pids')) {
    host.preferred = 'v2';
    if (!v2Has('cpu')) host.problems.push(`cgroup v2 at ${host.v2!.mountPoint} has no cpu controller: CPU weights are not applied`);
  } else if (host.v1.memory && host.v1.pids) {
    host.preferred = 'v1';
    if (!host.v1.cpu) host.problems.push('cgroup v1 has no cpu controller mounted: CPU weights are not applied');
    if (!host.v1.freezer) host.problems.push('cgroup v1 has no freezer controller mounted: killing a cgroup races with fork (kill loop only)');
  } else {
    const v2Desc = host.v2 ? `cgroup v2 at ${host.v2.mountPoint} offers [${host.v2.controllers.join(' ') || 'nothing'}]` : 'no cgroup v2 hierarchy is mounted';
    const v1Desc = `cgroup v1 has [${(Object.keys(host.v1) as string[]).join(' ') || 'nothing'}] mounted`;
    host.problems.push(`no cgroup hierarchy offers both the memory and pids controllers (${v2Desc}; ${v1Desc}); mount cgroup2 with memory+pids enabled, or the v1 memory and pids controllers`);
  }
  return host;
}

/** Limits for a group or a leaf. Undefined means "no limit" (or the default weight). */
export interface CgroupLimits {
  /** Memory limit in MB (swap limited so that it cannot be used to escape the limit). */
  memoryMB?: number;
  /** Maximum number of tasks (processes and threads). */
  pidsMax?: number;
  /** CPU weight in cgroup v2 units: 1..10000, default 100 (v1: cpu.shares = weight * 1024 / 100). */
  cpuWeight?: number;
}

/** What the enter-sandbox sequence needs to put a process into a leaf. Plain data. */
export interface CgroupTarget {
  version: CgroupVersion;
  /** cgroup.procs files to write the pid to (v1: one per controller hierarchy; v2: one). */
  procsFiles: string[];
  /** v2: the leaf directory, to open O_DIRECTORY for clone3(CLONE_INTO_CGROUP). null on v1. */
  v2Dir: string | null;
}

export interface MemoryEvents {
  /** Times the limit was hit (v2 memory.events max; v1 memory.failcnt or memory.memsw.failcnt). */
  limitHits: number;
  /** Times the OOM killer was invoked for this cgroup (v2 oom; v1 under_oom now). */
  oom: number;
  /** Processes killed by the OOM killer in this cgroup (v2 oom_kill; v1 memory.oom_control oom_kill). */
  oomKill: number;
}

export interface CgroupManagerOptions {
  /** Name of hearth's root cgroup in each hierarchy. Default 'hearth'. Tests use a unique name. */
  rootName?: string;
  /** Parent of the root, relative to each hierarchy's mount point. Default '' (the hierarchy's root). */
  parent?: string;
  /** Force a version (tests use 'v2' on a v2 hierarchy without controllers). Default: host.preferred. */
  version?: CgroupVersion;
  /** Detected host; default detectCgroupHost(). */
  host?: CgroupHost;
  /** Controllers that must exist; default ['memory', 'pids']. */
  requiredControllers?: CgroupController[];
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const UNLIMITED_V1 = 2n ** 62n; // memory.limit_in_bytes reads back as PAGE_COUNTER_MAX * PAGE_SIZE (~2^63) when unlimited

function checkName(kind: string, name: string): void {
  if (!NAME_RE.test(name) || name === '.' || name === '..') {
    throw new HearthError('HEARTH_E_INTERNAL', `invalid cgroup ${kind} name '${name}' (letters, digits, '_', '.', '-', at most 128)`);
  }
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
}

function writeCg(file: string, value: string): void {
  try {
    fs.writeFileSync(file, value);
  } catch (error) {
    throw new HearthError('HEARTH_E_INTERNAL', `cgroup: writing '${value}' to ${file} failed: ${errnoOf(error)} (${(error as Error).message})`, { file, value, errno: errnoOf(error) });
  }
}

function readCg(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new HearthError('HEARTH_E_INTERNAL', `cgroup: reading ${file} failed: ${errnoOf(error)}`, { file, errno: errnoOf(error) });
  }
}

function readKeyed(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readCg(file).split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

function readPids(procsFile: string): number[] {
  let text: string;
  try {
    text = fs.readFileSync(procsFile, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return [];
    throw error;
  }
  return text.split('\n').filter(Boolean).map(Number);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `done` with a short backoff until it returns true or `timeoutMs` passes. */
async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return done();
    await sleep(delay);
    delay = Math.min(delay * 2, 20);
  }
}

/** All descendant directories of `dir` (deepest first), then `dir` itself; a vanished `dir` has none. */
export function subtreeDeepestFirst(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return;
      throw error;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    out.push(d);
  };
  walk(dir);
  return out;
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if (errnoOf(error) !== 'ESRCH') throw error;
  }
}

/**
 * One cgroup (group or leaf): a directory per hierarchy. The shared mechanics of
 * limits, membership, kill and removal.
 */
class CgroupNode {
  constructor(
    protected readonly manager: CgroupManager,
    /** Path below hearth's root, e.g. 'fn-hello' or 'fn-hello/i-3'. */
    readonly relPath: string,
  ) {}

  get version(): CgroupVersion {
    return this.manager.version;
  }

  /** The directory in the hierarchy that carries `controller` (v2: the one directory); null if absent. */
  dirFor(controller: CgroupController): string | null {
    return this.manager.dirFor(controller, this.relPath);
  }

  /** Every directory of this cgroup (v2: one; v1: one per controller hierarchy). */
  get dirs(): string[] {
    return this.manager.hierarchyRoots().map((root) => path.join(root, this.relPath));
  }

  /** Applies limits; undefined fields reset to unlimited / default weight. */
  setLimits(limits: CgroupLimits): void {
    for (const [key, value] of Object.entries(limits) as Array<[keyof CgroupLimits, number | undefined]>) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new HearthError('HEARTH_E_INTERNAL', `cgroup limit ${key} must be a positive integer, got ${value}`);
      }
    }
    if (limits.cpuWeight !== undefined && limits.cpuWeight > 10000) throw new HearthError('HEARTH_E_INTERNAL', `cgroup cpuWeight must be 1..10000, got ${limits.cpuWeight}`);
    const memDir = this.dirFor('memory');
    if (memDir) this.setMemory(memDir, limits.memoryMB === undefined ? null : BigInt(limits.memoryMB) * 1024n * 1024n);
    else if (limits.memoryMB !== undefined && this.manager.required.includes('memory')) throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', 'cgroup: no memory controller for a memory limit');
    const pidsDir = this.dirFor('pids');
    if (pidsDir) writeCg(path.join(pidsDir, 'pids.max'), limits.pidsMax === undefined ? 'max' : String(limits.pidsMax));
    else if (limits.pidsMax !== undefined && this.manager.required.includes('pids')) throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', 'cgroup: no pids controller for a pids limit');
    const cpuDir = this.dirFor('cpu');
    if (cpuDir) {
      const weight = limits.cpuWeight ?? 100;
      if (this.version === 'v2') writeCg(path.join(cpuDir, 'cpu.weight'), String(weight));
      else writeCg(path.join(cpuDir, 'cpu.shares'), String(Math.max(2, Math.round((weight * 1024) / 100))));
    }
  }

  private setMemory(dir: string, bytes: bigint | null): void {
    if (this.version === 'v2') {
      writeCg(path.join(dir, 'memory.max'), bytes === null ? 'max' : String(bytes));
      const swap = path.join(dir, 'memory.swap.max');
      if (fs.existsSync(swap)) writeCg(swap, bytes === null ? 'max' : '0');
      return;
    }
    // v1: memory.memsw.limit_in_bytes (memory+swap) must always be >= memory.limit_in_bytes,
    // so raise memsw first when raising and lower memory first when lowering.
    const memFile = path.join(dir, 'memory.limit_in_bytes');
    const memswFile = path.join(dir, 'memory.memsw.limit_in_bytes');
    const value = bytes === null ? '-1' : String(bytes);
    if (!fs.existsSync(memswFile)) {
      writeCg(memFile, value);
      return;
    }
    const current = BigInt(readCg(memFile).trim());
    const raising = bytes === null || bytes > current;
    if (raising) {
      writeCg(memswFile, value);
      writeCg(memFile, value);
    } else {
      writeCg(memFile, value);
      writeCg(memswFile, value);
    }
  }

  /** Reads the limits back (undefined = unlimited / not supported on this host). */
  readLimits(): CgroupLimits & { swapLimited?: boolean } {
    const out: CgroupLimits & { swapLimited?: boolean } = {};
    const memDir = this.dirFor('memory');
    if (memDir) {
      if (this.version === 'v2') {
        const raw = readCg(path.join(memDir, 'memory.max')).trim();
        if (raw !== 'max') out.memoryMB = Number(BigInt(raw) / 1024n / 1024n);
        const swap = path.join(memDir, 'memory.swap.max');
        if (fs.existsSync(swap)) out.swapLimited = readCg(swap).trim() === '0';
      } else {
        const raw = BigInt(readCg(path.join(memDir, 'memory.limit_in_bytes')).trim());
        if (raw < UNLIMITED_V1) out.memoryMB = Number(raw / 1024n / 1024n);
        const memsw = path.join(memDir, 'memory.memsw.limit_in_bytes');
        if (fs.existsSync(memsw)) out.swapLimited = BigInt(readCg(memsw).trim()) === raw && raw < UNLIMITED_V1;
      }
    }
    const pidsDir = this.dirFor('pids');
    if (pidsDir) {
      const raw = readCg(path.join(pidsDir, 'pids.max')).trim();
      if (raw !== 'max') out.pidsMax = Number(raw);
    }
    const cpuDir = this.dirFor('cpu');
    if (cpuDir) {
      out.cpuWeight = this.version === 'v2' ? Number(readCg(path.join(cpuDir, 'cpu.weight')).trim()) : Math.round((Number(readCg(path.join(cpuDir, 'cpu.shares')).trim()) * 100) / 1024);
    }
    return out;
  }

  /** Memory charged to this cgroup now (bytes), or null without a memory controller. */
  memoryUsageBytes(): number | null {
    const dir = this.dirFor('memory');
    if (!dir) return null;
    return Number(readCg(path.join(dir, this.version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes')).trim());
  }

  /** Highest memory charge seen (bytes), or null where the kernel does not report it. */
  memoryPeakBytes(): number | null {
    const dir = this.dirFor('memory');
    if (!dir) return null;
    const file = path.join(dir, this.version === 'v2' ? 'memory.peak' : 'memory.max_usage_in_bytes');
    return fs.existsSync(file) ? Number(readCg(file).trim()) : null;
  }

  /** Memory limit and OOM counters; null without a memory controller. */
  memoryEvents(): MemoryEvents | null {
    const dir = this.dirFor('memory');
    if (!dir) return null;
    if (this.version === 'v2') {
      const events = readKeyed(path.join(dir, 'memory.events'));
      return { limitHits: events.get('max') ?? 0, oom: events.get('oom') ?? 0, oomKill: events.get('oom_kill') ?? 0 };
    }
    const control = readKeyed(path.join(dir, 'memory.oom_control'));
    // With memsw limited equal to memory, the memory+swap counter is usually the one that trips.
    const memswFail = path.join(dir, 'memory.memsw.failcnt');
    const failcnt = Math.max(Number(readCg(path.join(dir, 'memory.failcnt')).trim()), fs.existsSync(memswFail) ? Number(readCg(memswFail).trim()) : 0);
    return {
      limitHits: failcnt,
      oom: control.get('under_oom') ?? 0,
      oomKill: control.get('oom_kill') ?? 0,
    };
  }

  /** True when the OOM killer killed a process of this cgroup (since it was created). */
  outOfMemory(): boolean {
    return (this.memoryEvents()?.oomKill ?? 0) > 0;
  }

  /** Times a fork/clone failed because of pids.max (v1 and v2 pids.events 'max'); null without pids. */
  pidsLimitHits(): number | null {
    const dir = this.dirFor('pids');
    if (!dir) return null;
    const file = path.join(dir, 'pids.events');
    return fs.existsSync(file) ? (readKeyed(file).get('max') ?? 0) : null;
  }

  /** Pids of the processes directly in this cgroup (union over hierarchies). */
  pids(): number[] {
    const all = new Set<number>();
    for (const dir of this.dirs) for (const pid of readPids(path.join(dir, 'cgroup.procs'))) all.add(pid);
    return [...all].sort((a, b) => a - b);
  }

  /** Pids in this cgroup and every descendant. */
  subtreePids(): number[] {
    const all = new Set<number>();
    for (const root of this.dirs) for (const dir of subtreeDeepestFirst(root)) for (const pid of readPids(path.join(dir, 'cgroup.procs'))) all.add(pid);
    return [...all];
  }

  /** True while any process is in this cgroup or below. */
  populated(): boolean {
    if (this.version === 'v2') {
      const events = path.join(this.dirs[0]!, 'cgroup.events');
      if (fs.existsSync(events)) return readKeyed(events).get('populated') === 1;
    }
    return this.subtreePids().length > 0;
  }

  /**
   * Kills every process in this cgroup and below and waits until it is empty.
   * v2: cgroup.kill. v1: freeze, SIGKILL every pid, thaw, repeat until empty.
   */
  async killAll(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.version === 'v2') {
      const killFile = path.join(this.dirs[0]!, 'cgroup.kill');
      if (fs.existsSync(killFile)) {
        if (!this.populated()) return;
        writeCg(killFile, '1');
        if (await waitFor(() => !this.populated(), timeoutMs)) return;
        throw new HearthError('HEARTH_E_INTERNAL', `cgroup ${this.relPath}: processes still present ${timeoutMs} ms after cgroup.kill: ${this.subtreePids().join(' ')}`);
      }
    }
    const freezerDir = this.version === 'v1' ? this.dirFor('freezer') : null;
    const freezerState = freezerDir ? path.join(freezerDir, 'freezer.state') : null;
    try {
      while (this.subtreePids().length > 0) {
        if (Date.now() > deadline) {
          throw new HearthError('HEARTH_E_INTERNAL', `cgroup ${this.relPath}: could not empty it in ${timeoutMs} ms; left: ${this.subtreePids().join(' ')}`);
        }
        if (freezerState) {
          // Frozen tasks cannot fork, so the pid list is complete; SIGKILL takes effect on thaw.
          writeCg(freezerState, 'FROZEN');
          await waitFor(() => readCg(freezerState).trim() === 'FROZEN', Math.min(1000, Math.max(0, deadline - Date.now())));
        }
        for (const pid of this.subtreePids()) killPid(pid);
        if (freezerState) writeCg(freezerState, 'THAWED');
        await waitFor(() => this.subtreePids().length === 0, Math.min(200, Math.max(0, deadline - Date.now())));
      }
    } finally {
      if (freezerState && fs.existsSync(freezerState)) {
        try {
          fs.writeFileSync(freezerState, 'THAWED');
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }

  /** Removes this cgroup (and any descendants) in every hierarchy. Kills remaining processes first. */
  async remove(timeoutMs = 10_000): Promise<void> {
    if (this.dirs.every((d) => !fs.existsSync(d))) return;
    await this.killAll(timeoutMs);
    for (const root of this.dirs) {
      for (const dir of subtreeDeepestFirst(root)) {
        const ok = await waitFor(() => {
          try {
            fs.rmdirSync(dir);
            return true;
          } catch (error) {
            const code = errnoOf(error);
            if (code === 'ENOENT') return true;
            if (code === 'EBUSY') return false;
            throw new HearthError('HEARTH_E_INTERNAL', `cgroup: rmdir ${dir} failed: ${code}`, { dir, errno: code });
          }
        }, timeoutMs);
        if (!ok) throw new HearthError('HEARTH_E_INTERNAL', `cgroup: rmdir ${dir} still busy after ${timeoutMs} ms (pids: ${readPids(path.join(dir, 'cgroup.procs')).join(' ') || 'none'})`);
      }
    }
  }
}

/** A per-instance (or per-shell) leaf cgroup. Processes go here only. */
export class InstanceCgroup extends CgroupNode {
  readonly id: string;
  readonly group: CgroupGroup;

  constructor(manager: CgroupManager, group: CgroupGroup, id: string) {
    super(manager, `${group.relPath}/${id}`);
    this.group = group;
    this.id = id;
  }

  /** cgroup.procs files to write a pid to (v1: one per controller hierarchy; v2: one). */
  get procsFiles(): string[] {
    return this.dirs.map((d) => path.join(d, 'cgroup.procs'));
  }

  /** v2: the leaf directory for clone3(CLONE_INTO_CGROUP); null on v1. */
  get v2Dir(): string | null {
    return this.version === 'v2' ? this.dirs[0]! : null;
  }

  /** Plain data for the enter-sandbox sequence. */
  target(): CgroupTarget {
    return { version: this.version, procsFiles: this.procsFiles, v2Dir: this.v2Dir };
  }

  toJSON(): CgroupTarget & { id: string } {
    return { id: this.id, ...this.target() };
  }

  /** Moves a running process (all its threads) into this leaf. */
  addProcess(pid: number): void {
    for (const file of this.procsFiles) writeCg(file, String(pid));
  }
}

/** A group: one per function (or 'shells'); holds leaves. */
export class CgroupGroup extends CgroupNode {
  readonly name: string;
  readonly parentGroup: CgroupGroup | null;
  private readonly leaves = new Map<string, InstanceCgroup>();
  private readonly subgroups = new Map<string, CgroupGroup>();

  constructor(manager: CgroupManager, name: string, parentGroup: CgroupGroup | null = null) {
    super(manager, parentGroup ? `${parentGroup.relPath}/${name}` : name);
    this.name = name;
    this.parentGroup = parentGroup;
  }

  /** Creates a leaf with the given limits (an instance: the manifest memory and pids). */
  createInstance(id: string, limits: CgroupLimits = {}): InstanceCgroup {
    checkName('instance', id);
    if (this.leaves.has(id) || this.subgroups.has(id)) throw new HearthError('HEARTH_E_INTERNAL', `cgroup: '${id}' already exists in ${this.relPath}`);
    const leaf = new InstanceCgroup(this.manager, this, id);
    this.manager.makeDirs(leaf.relPath, false);
    try {
      if (this.version === 'v2') {
        // One OOM in an instance ends the whole instance, never a random process of it.
        const oomGroup = path.join(leaf.dirs[0]!, 'memory.oom.group');
        if (fs.existsSync(oomGroup)) writeCg(oomGroup, '1');
      }
      leaf.setLimits(limits);
    } catch (error) {
      rmdirQuiet(leaf.dirs);
      throw error;
    }
    this.leaves.set(id, leaf);
    return leaf;
  }

  /** Creates a nested group (e.g. a pooled shell's group inside 'shells'). */
  createGroup(name: string, limits: CgroupLimits = {}): CgroupGroup {
    checkName('group', name);
    if (this.leaves.has(name) || this.subgroups.has(name)) throw new HearthError('HEARTH_E_INTERNAL', `cgroup: '${name}' already exists in ${this.relPath}`);
    const group = new CgroupGroup(this.manager, name, this);
    this.manager.makeDirs(group.relPath, true);
    try {
      group.setLimits(limits);
    } catch (error) {
      rmdirQuiet(group.dirs);
      throw error;
    }
    this.subgroups.set(name, group);
    return group;
  }

  /** Removes a leaf (killing what is left in it). */
  async removeInstance(leaf: InstanceCgroup): Promise<void> {
    await leaf.remove();
    this.leaves.delete(leaf.id);
  }

  instances(): InstanceCgroup[] {
    return [...this.leaves.values()];
  }

  override async remove(timeoutMs = 10_000): Promise<void> {
    await super.remove(timeoutMs);
    this.leaves.clear();
    this.subgroups.clear();
    if (this.parentGroup) this.parentGroup.subgroups.delete(this.name);
    else this.manager.forgetGroup(this.name);
  }
}

function rmdirQuiet(dirs: string[]): void {
  for (const d of dirs) {
    try {
      fs.rmdirSync(d);
    } catch {
      /* best effort: the caller reports the original error */
    }
  }
}

/** A function's group (same class; named for the call sites). */
export type FunctionCgroup = CgroupGroup;

/**
 * hearth's cgroups. start() creates the root (removing leftovers of a crashed run
 * with the same root name), close() kills everything in it and removes it.
 */
export class CgroupManager {
  readonly host: CgroupHost;
  readonly version: CgroupVersion;
  readonly rootName: string;
  readonly parent: string;
  readonly required: CgroupController[];
  /** Controllers available to hearth's cgroups in this mode. */
  readonly controllers: CgroupController[];
  private readonly groups = new Map<string, CgroupGroup>();
  /** v2: controllers hearth enabled in the parent's subtree_control (reverted at close). */
  private enabledInParent: string[] = [];
  private started = false;
  /** True when start() found and removed a previous run's root. */
  staleRemoved = false;

  constructor(options: CgroupManagerOptions = {}) {
    this.host = options.host ?? detectCgroupHost();
    this.rootName = options.rootName ?? 'hearth';
    checkName('root', this.rootName);
    this.parent = (options.parent ?? '').replace(/^\/+|\/+$/g, '');
    if (this.parent.split('/').some((p) => p === '..')) throw new HearthError('HEARTH_E_INTERNAL', `cgroup parent '${this.parent}' must not contain '..'`);
    this.required = options.requiredControllers ?? ['memory', 'pids'];
    const version = options.version ?? this.host.preferred;
    if (!version) throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `cgroups: ${this.host.problems.join('; ')}`);
    this.version = version;
    if (version === 'v2') {
      if (!this.host.v2) throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', 'cgroups: no cgroup v2 hierarchy is mounted');
      this.controllers = V2_CONTROLLERS.filter((c) => this.host.v2!.controllers.includes(c));
    } else {
      this.controllers = V1_CONTROLLERS.filter((c) => this.host.v1[c]);
    }
    const missing = this.required.filter((c) => !this.controllers.includes(c));
    if (missing.length > 0) {
      throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `cgroups (${version}): required controllers missing: ${missing.join(', ')} (available: ${this.controllers.join(', ') || 'none'})`);
    }
  }

  /** The directories of hearth's root, one per hierarchy (v2: one). */
  hierarchyRoots(): string[] {
    if (this.version === 'v2') return [path.join(this.host.v2!.mountPoint, this.parent, this.rootName)];
    const mounts = new Set<string>();
    for (const c of this.controllers) mounts.add(this.host.v1[c]!.mountPoint);
    return [...mounts].map((m) => path.join(m, this.parent, this.rootName));
  }

  /** Directory of `relPath` in the hierarchy that carries `controller`, or null. */
  dirFor(controller: CgroupController, relPath: string): string | null {
    if (!this.controllers.includes(controller)) return null;
    const mount = this.version === 'v2' ? this.host.v2!.mountPoint : this.host.v1[controller]!.mountPoint;
    return path.join(mount, this.parent, this.rootName, relPath);
  }

  /** Creates the directories of `relPath` in every hierarchy (and enables controllers for children on v2). */
  makeDirs(relPath: string, hasChildren: boolean): void {
    for (const root of this.hierarchyRoots()) {
      const dir = path.join(root, relPath);
      try {
        fs.mkdirSync(dir);
      } catch (error) {
        throw new HearthError('HEARTH_E_INTERNAL', `cgroup: mkdir ${dir} failed: ${errnoOf(error)}`, { dir, errno: errnoOf(error) });
      }
      if (this.version === 'v2' && hasChildren) this.enableForChildren(dir);
    }
  }

  private enableForChildren(dir: string): string[] {
    const file = path.join(dir, 'cgroup.subtree_control');
    const enabled = readCg(file).trim().split(/\s+/).filter(Boolean);
    const wanted = this.controllers.filter((c) => !enabled.includes(c));
    if (wanted.length > 0) writeCg(file, wanted.map((c) => `+${c}`).join(' '));
    return wanted;
  }

  /** Creates hearth's root; removes a leftover root of the same name first. */
  async start(): Promise<void> {
    if (this.started) return;
    for (const root of this.hierarchyRoots()) {
      const parentDir = path.dirname(root);
      if (!fs.existsSync(parentDir)) throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `cgroup parent ${parentDir} does not exist`);
      try {
        fs.accessSync(parentDir, fs.constants.W_OK);
      } catch {
        throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `cgroup parent ${parentDir} is not writable (hearth needs root or a delegated cgroup)`);
      }
    }
    if (this.hierarchyRoots().some((r) => fs.existsSync(r))) {
      this.staleRemoved = true;
      await this.removeTree();
    }
    if (this.version === 'v2') this.enabledInParent = this.enableForChildren(path.dirname(this.hierarchyRoots()[0]!));
    this.makeDirs('', true);
    this.started = true;
  }

  private async removeTree(): Promise<void> {
    const node = new CgroupNode(this, '');
    await node.remove();
  }

  /** Creates a group (a function's cgroup, or 'shells') with group-wide limits. */
  createGroup(name: string, limits: CgroupLimits = {}): CgroupGroup {
    if (!this.started) throw new HearthError('HEARTH_E_INTERNAL', 'cgroup manager not started');
    checkName('group', name);
    if (this.groups.has(name)) throw new HearthError('HEARTH_E_INTERNAL', `cgroup group '${name}' already exists`);
    const group = new CgroupGroup(this, name);
    this.makeDirs(name, true);
    try {
      group.setLimits(limits);
    } catch (error) {
      rmdirQuiet(group.dirs);
      throw error;
    }
    this.groups.set(name, group);
    return group;
  }

  /** A function's group: 'fn-<name>'. Limits here cap the sum of the function's instances. */
  createFunction(functionName: string, limits: CgroupLimits = {}): FunctionCgroup {
    return this.createGroup(`fn-${functionName}`, limits);
  }

  getGroup(name: string): CgroupGroup | undefined {
    return this.groups.get(name);
  }

  /** @internal */
  forgetGroup(name: string): void {
    this.groups.delete(name);
  }

  /** Kills every process in hearth's cgroups, removes them all, and reverts what start() enabled. */
  async close(): Promise<void> {
    if (!this.started) return;
    await this.removeTree();
    this.groups.clear();
    if (this.version === 'v2' && this.enabledInParent.length > 0) {
      const file = path.join(path.dirname(this.hierarchyRoots()[0]!), 'cgroup.subtree_control');
      try {
        fs.writeFileSync(file, this.enabledInParent.map((c) => `-${c}`).join(' '));
      } catch {
        /* another cgroup below the parent uses it now: leave it enabled */
      }
    }
    this.started = false;
  }
}
