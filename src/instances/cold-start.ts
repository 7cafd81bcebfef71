// The cold start path: a fresh runtime process per new instance.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { FunctionVersion } from '../registry/store.js';
import type { Runtime } from '../registry/manifest.js';
import { instanceCgroupFor } from '../sandbox/instance-cgroup.js';
import type { CgroupManager } from '../sandbox/cgroups.js';
import type { FunctionLogs } from './function-logs.js';
import { Instance, type InstanceProcess } from './instance.js';
import { instanceEnvironment, type InstanceStarter, type StartedInstance } from './starter.js';

export interface ColdStarterOptions {
  /** Per-instance cgroups (memory limit, pids limit, OOM detection), when the host offers them. */
  cgroups: () => CgroupManager | undefined;
  nodeBinary: string;
  pythonBinary: string;
  runtimeDir: string;
  logs: FunctionLogs;
  /** How long init may take before the start fails. */
  initTimeoutMs: number;
}

/** The bootstrap's command line; a Node.js zygote forks itself, so V8 must run without worker threads (docs/security.md). */
export function runtimeCommand(runtime: Runtime, options: Pick<ColdStarterOptions, 'nodeBinary' | 'pythonBinary' | 'runtimeDir'>, mode: 'instance' | 'zygote' = 'instance'): string[] {
  if (runtime === 'nodejs20') return [options.nodeBinary, ...(mode === 'zygote' ? ['--single-threaded'] : []), path.join(options.runtimeDir, 'node', 'bootstrap.mjs')];
  return [options.pythonBinary, '-X', 'utf8', path.join(options.runtimeDir, 'python', 'bootstrap.py')];
}

/** util-linux's setpriv sets PR_SET_PDEATHSIG before it execs the runtime (util-linux is essential on Debian). */
export const PDEATHSIG_PREFIX = fs.existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--'] : [];

/**
 * Resolves when `child` has exited and its output has been read: on 'close', or
 * shortly after 'exit' if something else (a grandchild) still holds the pipes.
 */
export function processExit(child: ChildProcess, graceMs = 100): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('exit', (code, signal) => setTimeout(() => resolve({ code, signal }), graceMs).unref());
    child.once('error', () => resolve({ code: null, signal: null }));
  });
}

/**
 * A runtime process spawned with the protocol channel on fd 3, as a ready cold
 * instance: waits for its `ready` and splits the time since `t0` into phases.
 * `extra` adds what the starter knows (OOM check, cleanup, its own kill).
 */
export async function coldInstanceFromChild(
  fn: FunctionVersion,
  child: ChildProcess,
  logs: FunctionLogs,
  t: { t0: number; sandboxMs: number; initTimeoutMs: number },
  extra: Partial<Omit<InstanceProcess, 'pid' | 'exited' | 'stdout' | 'stderr'>> = {},
  exited: InstanceProcess['exited'] = processExit(child),
): Promise<StartedInstance> {
  const proc: InstanceProcess = { pid: child.pid ?? -1, kill: (signal) => child.kill(signal), exited, stdout: child.stdout, stderr: child.stderr, ...extra };
  const instance = new Instance(fn, 'cold', proc, child.stdio[3] as Duplex, logs);
  const initMs = await instance.waitReady(t.initTimeoutMs);
  const total = performance.now() - t.t0;
  return { instance, timings: { sandboxMs: t.sandboxMs, processMs: Math.max(0, total - t.sandboxMs - initMs), initMs } };
}

export class ColdStarter implements InstanceStarter {
  readonly path = 'cold' as const;

  constructor(private readonly options: ColdStarterOptions) {}

  canStart(): boolean {
    return true;
  }

  async start(fn: FunctionVersion): Promise<StartedInstance> {
    const t0 = performance.now();
    // The runtime dies with hearth, even when it is busy and never sees its channel close.
    const [binary, ...args] = [...PDEATHSIG_PREFIX, ...runtimeCommand(fn.manifest.runtime, this.options)];
    const child = spawn(binary!, args, {
      cwd: fn.codeDir,
      env: instanceEnvironment(fn, fn.codeDir),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      detached: false,
    });
    const exited = processExit(child);
    const leaf = instanceCgroupFor(this.options.cgroups(), fn);
    try {
      if (leaf && child.pid !== undefined) leaf.cgroup.addProcess(child.pid);
    } catch (error) {
      child.kill('SIGKILL');
      await leaf?.release();
      throw error;
    }
    return coldInstanceFromChild(
      fn,
      child,
      this.options.logs,
      { t0, sandboxMs: 0, initTimeoutMs: this.options.initTimeoutMs },
      leaf ? { wasOomKilled: () => leaf.cgroup.outOfMemory(), cleanup: () => leaf.release() } : {},
      exited,
    );
  }
}
