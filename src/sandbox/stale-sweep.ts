// Start-up sweep of what dead hearths left behind on this host.
//
// A hearth killed with SIGKILL leaves its cgroup root (`hearth-<12 hex>` in each
// hierarchy), its pooled network namespaces (/run/netns/<prefix>-<n|e><k>), its
// shells' scratch directory (/dev/shm/hearth-<12 hex>-shells) and the mounts among
// them, until a hearth starts again on the same data directory (which removes
// leftovers of its own root name). A data directory that is never reused would
// leave them forever. This module removes them from any hearth's start-up.
//
// Ownership marker (two parts):
//   * a record, /run/hearth/owners/<rootName>.json: what the hearth creates (its
//     cgroup root directories, netns prefix, scratch directories), its pid, start
//     time and network namespace; written *before* anything it lists is created;
//   * a liveness lock: an abstract Unix socket `@hearth-owner/<rootName>` that the
//     live hearth keeps bound. The kernel releases it the instant the process dies
//     (SIGKILL included), it cannot be stale, and binding it is an atomic test-and-
//     take: a sweeper that binds it knows the owner is dead *and* keeps any new hearth
//     on the same data directory waiting until the sweep is over.
// A record is swept only when its lock can be bound, its network namespace is ours
// (abstract sockets are per network namespace: a hearth elsewhere is never judged
// dead) and its pid with that start time is gone. Unmarked look-alikes (hearths
// from before this change, other programs' or tests' `hearth-*` cgroups) are never
// touched: without a record there is no proof that the owner is dead.
// /run and cgroupfs are both emptied by a reboot, so records and resources go together.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { HearthError } from '../errors.js';
import { subtreeDeepestFirst } from './cgroups.js';

export const OWNERS_DIR = '/run/hearth/owners';
const NETNS_DIR = '/run/netns';

/** What a hearth creates on the host, recorded before it creates it. */
export interface OwnedResources {
  /** `hearth-<12 hex>`: the cgroup root's name, also the record's and the lock's name. */
  rootName: string;
  /** The cgroup root directory in each hierarchy (v2: one; v1: one per controller mount). */
  cgroupRoots: string[];
  /** Network namespaces `<netnsPrefix>-<n|e><k>` under /run/netns. */
  netnsPrefix: string;
  /** Scratch directories (on tmpfs) removed with everything mounted below them. */
  scratchDirs: string[];
}

export interface OwnerRecord extends OwnedResources {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot): with the pid, names the process. */
  startTime: string;
  /** Inode of the owner's network namespace (the lock's scope). */
  netns: number;
  dataDir: string;
  createdAt: string;
}

export interface SweepResult {
  /** Root names whose leftovers were removed. */
  swept: string[];
  /** Root names of live owners (or owners that cannot be judged from here). */
  live: string[];
  errors: string[];
}

const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;
const ROOT_NAME_RE = /^hearth-[0-9a-f]{12}$/;
const NETNS_PREFIX_RE = /^hearth[A-Za-z0-9_]{1,40}$/;

function lockName(rootName: string): string {
  return `\0hearth-owner/${rootName}`;
}

function startTimeOf(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, starttime field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function ownNetns(): number {
  return Number(fs.statSync('/proc/self/ns/net').ino);
}

/** Binds the lock; null when another live process holds it. */
function tryLock(rootName: string): Promise<net.Server | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((c) => c.destroy());
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(null);
      else reject(error);
    });
    server.listen(lockName(rootName), () => {
      server.unref(); // the lock must never keep the process alive
      resolve(server);
    });
  });
}

function closeLock(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A live hearth's claim: its record and its lock. */
export class OwnerClaim {
  constructor(
    readonly record: OwnerRecord,
    private readonly file: string,
    private server: net.Server | null,
  ) {}

  /** After a clean shutdown (everything listed is removed): drops the record and the lock. */
  async release(): Promise<void> {
    try {
      const current = JSON.parse(fs.readFileSync(this.file, 'utf8')) as OwnerRecord;
      if (current.pid === this.record.pid && current.startTime === this.record.startTime) fs.rmSync(this.file, { force: true });
    } catch {
      /* already gone */
    }
    if (this.server) await closeLock(this.server);
    this.server = null;
  }
}

/**
 * Takes the lock for `resources.rootName` and writes the record. When the lock is
 * held (a sweeper removing a dead predecessor on the same data directory, or a
 * hearth still shutting down) it waits up to `waitMs`.
 */
export async function claimOwnership(resources: OwnedResources, dataDir: string, options: { ownersDir?: string; waitMs?: number; log?: Logger } = {}): Promise<OwnerClaim> {
  if (!ROOT_NAME_RE.test(resources.rootName)) throw new HearthError('HEARTH_E_INTERNAL', `owner record: bad root name ${resources.rootName}`);
  const dir = options.ownersDir ?? OWNERS_DIR;
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  let server = await tryLock(resources.rootName);
  while (!server && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    server = await tryLock(resources.rootName);
  }
  // Still held: another hearth on the same data directory that is alive (or a hearth in this
  // process that was not closed). As before this module, go on: that owner's record keeps the
  // resources safe from sweepers (its pid is alive), and cgroups.ts removes a same-name root anyway.
  if (!server) options.log?.warn({ rootName: resources.rootName, dataDir }, 'another live hearth holds this data directory');
  const record: OwnerRecord = {
    ...resources,
    pid: process.pid,
    startTime: startTimeOf(process.pid) ?? '',
    netns: ownNetns(),
    dataDir: path.resolve(dataDir),
    createdAt: new Date().toISOString(),
  };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${resources.rootName}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(record, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, file);
  return new OwnerClaim(record, file, server);
}

/** Refuses records that could make the sweep remove something that is not a hearth leftover. */
function validRecord(r: Partial<OwnerRecord>, file: string): r is OwnerRecord {
  if (typeof r.rootName !== 'string' || !ROOT_NAME_RE.test(r.rootName) || path.basename(file) !== `${r.rootName}.json`) return false;
  if (typeof r.netnsPrefix !== 'string' || !NETNS_PREFIX_RE.test(r.netnsPrefix)) return false;
  if (!Array.isArray(r.cgroupRoots) || !r.cgroupRoots.every((d) => typeof d === 'string' && path.isAbsolute(d) && path.basename(d) === r.rootName && !d.split('/').includes('..'))) return false;
  if (!Array.isArray(r.scratchDirs) || !r.scratchDirs.every((d) => typeof d === 'string' && path.isAbsolute(d) && path.basename(d) === `${r.rootName}-shells` && !d.split('/').includes('..'))) return false;
  return typeof r.pid === 'number' && typeof r.startTime === 'string' && typeof r.netns === 'number';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function procsIn(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    try {
      for (const p of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
    } catch {
      /* removed meanwhile */
    }
  }
  return [...pids];
}

/** Kills every process left in the roots' subtrees (freezing on v1 so that none forks away), then rmdirs leaf-first. */
async function removeCgroupRoots(roots: string[], timeoutMs = 10_000): Promise<void> {
  const existing = roots.filter((r) => fs.existsSync(r));
  for (const r of existing) {
    // Only ever a directory on a cgroup file system (v1 or v2).
    const type = Number(fs.statfsSync(r).type);
    if (type !== CGROUP_SUPER_MAGIC && type !== CGROUP2_SUPER_MAGIC) throw new Error(`${r} is not on a cgroup file system`);
  }
  if (existing.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  const freezer = existing.map((r) => path.join(r, 'freezer.state')).find((f) => fs.existsSync(f));
  for (;;) {
    const pids = procsIn(existing.flatMap((r) => subtreeDeepestFirst(r)));
    if (pids.length === 0) break;
    if (Date.now() > deadline) throw new Error(`processes left in ${existing[0]}: ${pids.join(' ')}`);
    const kill = existing.map((r) => path.join(r, 'cgroup.kill')).find((f) => fs.existsSync(f));
    if (kill) fs.writeFileSync(kill, '1');
    else {
      if (freezer) fs.writeFileSync(freezer, 'FROZEN');
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (freezer) fs.writeFileSync(freezer, 'THAWED');
    }
    await sleep(20);
  }
  for (const root of existing) {
    for (const dir of subtreeDeepestFirst(root)) {
      for (;;) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || Date.now() > deadline) throw error;
          await sleep(20);
        }
      }
    }
  }
}

function run(binary: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => resolve({ code: null, stderr: error.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** Mount points (host mount namespace) equal to or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function removeNetns(prefix: string): Promise<void> {
  let names: string[] = [];
  try {
    names = fs.readdirSync(NETNS_DIR).filter((n) => n.startsWith(`${prefix}-`) && /^[ne]\d+$/.test(n.slice(prefix.length + 1)));
  } catch {
    return;
  }
  for (const name of names) {
    const r = await run('ip', ['netns', 'del', name]);
    const file = path.join(NETNS_DIR, name);
    if (r.code !== 0 && fs.existsSync(file)) {
      // Not (or no longer) a mount: a creation that died before the bind mount.
      for (const m of mountsUnder(file)) await run('umount', ['-l', m]);
      fs.rmSync(file, { force: true });
    }
  }
}

async function removeScratch(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) {
    const r = await run('umount', ['-l', m]);
    if (r.code !== 0) throw new Error(`umount ${m}: ${r.stderr.trim()}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Removes everything a dead owner's record lists. */
async function removeLeftovers(r: OwnerRecord): Promise<void> {
  await removeCgroupRoots(r.cgroupRoots);
  await removeNetns(r.netnsPrefix);
  for (const d of r.scratchDirs) await removeScratch(d);
}

/**
 * Removes the leftovers of every recorded hearth that is dead. Never throws:
 * problems are returned (and logged) so that start-up goes on.
 */
export async function sweepStale(options: { ownersDir?: string; log?: Logger; skip?: string[] } = {}): Promise<SweepResult> {
  const dir = options.ownersDir ?? OWNERS_DIR;
  const result: SweepResult = { swept: [], live: [], errors: [] };
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return result;
  }
  const netns = ownNetns();
  for (const f of files) {
    const file = path.join(dir, f);
    const rootName = f.slice(0, -'.json'.length);
    if (options.skip?.includes(rootName)) continue;
    let record: Partial<OwnerRecord>;
    try {
      record = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<OwnerRecord>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') result.errors.push(`${f}: unreadable record: ${(error as Error).message}`);
      continue;
    }
    if (!validRecord(record, file)) {
      result.errors.push(`${f}: malformed owner record, left alone`);
      continue;
    }
    // Another network namespace: its lock is invisible from here; its pid may be too.
    if (record.netns !== netns || startTimeOf(record.pid) === record.startTime) {
      result.live.push(rootName);
      continue;
    }
    let lock: net.Server | null;
    try {
      lock = await tryLock(rootName);
    } catch (error) {
      result.errors.push(`${rootName}: lock: ${(error as Error).message}`);
      continue;
    }
    if (!lock) {
      result.live.push(rootName);
      continue;
    }
    try {
      // Holding the lock, the record cannot change under us (a new owner writes it only after taking the lock).
      const current = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<OwnerRecord>;
      if (!validRecord(current, file)) throw new Error('record changed to a malformed one');
      await removeLeftovers(current);
      fs.rmSync(file, { force: true });
      result.swept.push(rootName);
      options.log?.info({ rootName, owner: current.pid, dataDir: current.dataDir }, 'removed the leftovers of a dead hearth');
    } catch (error) {
      result.errors.push(`${rootName}: ${(error as Error).message}`);
    } finally {
      await closeLock(lock);
    }
  }
  if (result.errors.length > 0) options.log?.warn({ errors: result.errors }, 'stale sweep: some leftovers could not be removed');
  return result;
}
