// template[F]: a process that loaded F once and forks instances of F on request.
// The agent holds its control channel; the template reports the exit status of
// every instance it forked (it is their parent).
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type { FunctionVersion } from '../registry/store.js';
import type { LambdaError } from '../instances/protocol.js';
import type { ControlChannel, ControlMessage } from './control.js';
import type { FdPassing } from './fd-passing.js';

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

export interface ForkedProcess {
  pid: number;
  channel: net.Socket;
  stdout: net.Socket;
  stderr: net.Socket;
  exited: Promise<ExitInfo>;
}

const SIGNAL_NAMES: Record<number, NodeJS.Signals> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The host pid of a sandboxed template's instance that the template reported as
 * `nsPid` (its own view). The instance is pid 1 of its own pid namespace, so its
 * NSpid line ends with [nsPid, 1]. It is a child of the sandboxed process (Python's
 * template), or a grandchild (Node's template nests one more pid namespace).
 */
function nspidOf(pid: number): number[] {
  try {
    return /^NSpid:\s*(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  } catch {
    return []; // exited meanwhile
  }
}

/** Descendants of `pid` down to `depth` levels, nearest first. */
function descendantsOf(pid: number, depth: number): number[] {
  const found: number[] = [];
  let level = [pid];
  for (let d = 0; d < depth; d++) {
    level = level.flatMap(childrenOf);
    found.push(...level);
  }
  return found;
}

/**
 * The host pid of a sandboxed template's instance that the template reported as
 * `nsPid` (its own view). The instance is pid 1 of its own pid namespace, so its
 * NSpid line ends with [nsPid, 1]. Below the sandboxed process: Python's template
 * is its child, Node's its grandchild (one more pid namespace); instances one lower.
 */
export function hostPidOfInstance(sandboxedPid: number, nsPid: number): number | undefined {
  return descendantsOf(sandboxedPid, 3).find((candidate) => {
    const nspid = nspidOf(candidate);
    return nspid.length >= 3 && nspid.at(-1) === 1 && nspid.at(-2) === nsPid;
  });
}

/** The template process below the sandboxed one: pid 2 of its (innermost) pid namespace, never pid 1 (see the addon). */
export function hostPidOfTemplate(sandboxedPid: number): number | undefined {
  return descendantsOf(sandboxedPid, 2).find((candidate) => nspidOf(candidate).at(-1) === 2);
}

export class Template {
  /** The zygote's child: the template itself, or, when sandboxed, the sandbox's supervisor (killing it ends the sandbox). */
  pid = -1;
  /** When sandboxed: the template process inside the sandbox (host pid), parent of the instances. */
  sandboxedPid: number | undefined;
  state: 'loading' | 'ready' | 'failed' | 'dead' = 'loading';
  initMs = 0;
  readonly readyPromise: Promise<void>;
  private readonly exitWaiters = new Map<number, (info: ExitInfo) => void>();
  private readonly exitReports = new Map<number, ExitInfo>();
  /** Instances forked and not yet reported dead. */
  readonly children = new Set<number>();

  constructor(
    readonly fn: FunctionVersion,
    private readonly control: ControlChannel,
    readonly stdout: net.Socket,
    readonly stderr: net.Socket,
    private readonly native: FdPassing,
  ) {
    this.readyPromise = new Promise((resolve, reject) => {
      const onMessage = (m: ControlMessage): void => {
        if (m.t === 'ready') {
          this.state = 'ready';
          this.initMs = Number(m.initMs);
          resolve();
        } else if (m.t === 'init_error') {
          this.state = 'failed';
          reject(Object.assign(new Error((m.error as LambdaError).errorMessage), { lambdaError: m.error as LambdaError }));
        } else if (m.t === 'exit') {
          this.onChildExit(Number(m.pid), { code: (m.code as number | null) ?? null, signal: m.signal ? (SIGNAL_NAMES[Number(m.signal)] ?? 'SIGKILL') : null });
        }
      };
      control.on('message', onMessage);
      control.once('close', (reason: Error) => {
        if (this.state === 'loading') reject(reason);
        this.state = this.state === 'failed' ? 'failed' : 'dead';
      });
    });
    this.readyPromise.catch(() => undefined);
  }

  private onChildExit(pid: number, info: ExitInfo): void {
    this.children.delete(pid);
    const waiter = this.exitWaiters.get(pid);
    if (waiter) {
      this.exitWaiters.delete(pid);
      waiter(info);
    } else {
      this.exitReports.set(pid, info);
    }
  }

  /** The process that holds F's memory (and forks): inside the sandbox when sandboxed (Node nests one more level). */
  get processPid(): number {
    if (this.sandboxedPid === undefined) return this.pid;
    this.templatePid ??= hostPidOfTemplate(this.sandboxedPid);
    return this.templatePid ?? this.sandboxedPid;
  }

  private templatePid: number | undefined;

  /** `callback` runs once the template is gone (its control channel closed), at once if it already is. */
  onClose(callback: () => void): void {
    if (this.control.isClosed) callback();
    else this.control.once('close', () => callback());
  }

  get alive(): boolean {
    return !this.control.isClosed && this.state === 'ready';
  }

  /** Forks one instance: it gets its own channel and output sockets; `cgroupFds` (cgroup.procs, opened for writing) move it into its leaf. */
  async fork(cgroupFds: number[] = []): Promise<ForkedProcess> {
    const [channelAgent, channelChild] = this.native.socketpair();
    const [outAgent, outChild] = this.native.socketpair();
    const [errAgent, errChild] = this.native.socketpair();
    const channel = new net.Socket({ fd: channelAgent, readable: true, writable: true });
    const stdout = new net.Socket({ fd: outAgent, readable: true, writable: false });
    const stderr = new net.Socket({ fd: errAgent, readable: true, writable: false });
    let reply: ControlMessage;
    try {
      reply = await this.control.request({ t: 'fork', id: crypto.randomUUID() }, [channelChild, outChild, errChild, ...cgroupFds], 5000);
    } catch (error) {
      for (const s of [channel, stdout, stderr]) s.destroy();
      throw error;
    }
    // A sandboxed template reports its own view of the pid; the agent works with the host's.
    const reportedPid = Number(reply.pid);
    const pid = this.sandboxedPid === undefined ? reportedPid : hostPidOfInstance(this.sandboxedPid, reportedPid);
    if (pid === undefined) {
      for (const s of [channel, stdout, stderr]) s.destroy();
      throw new Error(`forked instance ${reportedPid} of template ${this.sandboxedPid} has no host pid (it exited at once)`);
    }
    this.children.add(reportedPid);
    const reported = new Promise<ExitInfo>((resolve) => {
      const early = this.exitReports.get(reportedPid);
      if (early) {
        this.exitReports.delete(reportedPid);
        resolve(early);
        return;
      }
      this.exitWaiters.set(reportedPid, resolve);
      // Without a report (the template died, or the instance closed its channel), the
      // channel's end is the end of the instance: make sure of it, then resolve.
      channel.once('close', () => {
        setTimeout(() => {
          if (!this.exitWaiters.delete(reportedPid)) return;
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
          resolve({ code: null, signal: 'SIGKILL' });
        }, 300).unref();
      });
    });
    // The exit report travels on the control socket and can overtake what the instance wrote
    // last on its channel (an init_error, a result before exiting): as for a cold instance
    // (processExit), the exit counts once the channel is closed, or shortly after the report.
    const exited = reported.then(
      (info) =>
        new Promise<ExitInfo>((resolve) => {
          if (channel.destroyed) return resolve(info);
          const done = (): void => resolve(info);
          channel.once('close', done);
          setTimeout(done, 100).unref();
        }),
    );
    return { pid, channel, stdout, stderr, exited };
  }

  /** Kills the template (its instances live on until the agent stops them). */
  destroy(): void {
    if (this.pid > 0 && !this.control.isClosed) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.control.close();
    this.stdout.destroy();
    this.stderr.destroy();
  }
}
