// Memory and CPU of a system under test, measured from /proc: the process tree
// rooted at the server process plus every process in hearth's cgroups (the
// data directory's cgroup root), PSS from /proc/<pid>/smaps_rollup (shared
// pages counted once in total), CPU from /proc/<pid>/stat (utime + stime of
// live processes plus cutime + cstime of the reaped ones).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface MemorySample {
  /** ms since the workload started. */
  tMs: number;
  pssMB: number;
  /** PSS of everything but the server (agent) process: instances, templates, zygotes, container runtimes. */
  instancesPssMB: number;
  processes: number;
  /** Cumulative CPU seconds of the tree since the monitor started. */
  cpuS: number;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function readFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function children(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    const text = readFile(`/proc/${pid}/task/${tid}/children`);
    if (text) for (const c of text.trim().split(/\s+/)) if (c) out.push(Number(c));
  }
  return out;
}

function tree(root: number): Set<number> {
  const seen = new Set<number>();
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...children(pid));
  }
  return seen;
}

/** hearth's cgroup root for a data directory (as src/hearth.ts names it), in every hierarchy where it exists. */
function cgroupRoots(dataDir: string): string[] {
  const rootName = `hearth-${crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12)}`;
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const full = path.join(dir, e.name);
      if (e.name === rootName) found.push(full);
      else if (depth < 3 && !e.name.startsWith('fn-') && !e.name.startsWith('hearth-')) walk(full, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

function cgroupPids(dir: string, out: Set<number>): void {
  const procs = readFile(path.join(dir, 'cgroup.procs'));
  if (procs) for (const p of procs.trim().split('\n')) if (p) out.add(Number(p));
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) cgroupPids(path.join(dir, e.name), out);
}

function pssKB(pid: number): number | undefined {
  const text = readFile(`/proc/${pid}/smaps_rollup`);
  const m = text && /^Pss:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

function cpuTicks(pid: number): number {
  const text = readFile(`/proc/${pid}/stat`);
  if (!text) return 0;
  // Fields after the command (which may contain spaces): state is field 3; utime..cstime are 14..17.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
}

export class Monitor {
  readonly samples: MemorySample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private cgroups: string[] | undefined;
  private cpuBase = 0;
  private t0 = 0;

  constructor(
    private readonly serverPid: number,
    private readonly dataDir: string,
    private readonly intervalMs: number,
  ) {}

  /** Processes of the system right now. */
  pids(): Set<number> {
    // hearth creates its cgroup root at start, before the monitor runs: one search is enough.
    this.cgroups ??= cgroupRoots(this.dataDir);
    const pids = tree(this.serverPid);
    for (const root of this.cgroups) cgroupPids(root, pids);
    return pids;
  }

  sample(): MemorySample {
    const pids = this.pids();
    let total = 0;
    let instances = 0;
    let cpu = 0;
    let counted = 0;
    for (const pid of pids) {
      const kb = pssKB(pid);
      if (kb === undefined) continue;
      counted++;
      total += kb;
      if (pid !== this.serverPid) instances += kb;
      cpu += cpuTicks(pid);
    }
    const s = { tMs: performance.now() - this.t0, pssMB: total / 1024, instancesPssMB: instances / 1024, processes: counted, cpuS: cpu / CLK_TCK - this.cpuBase };
    return s;
  }

  start(): void {
    this.t0 = performance.now();
    this.cpuBase = 0;
    this.cpuBase = this.sample().cpuS;
    const tick = (): void => {
      this.samples.push(this.sample());
      this.timer = setTimeout(tick, this.intervalMs);
    };
    tick();
  }

  stop(): MemorySample {
    if (this.timer) clearTimeout(this.timer);
    const last = this.sample();
    this.samples.push(last);
    return last;
  }
}
