// template[F]: a process that loaded F once and forks instances of F on request.
// The agent holds its control channel; the template reports the exit status of
// every instance it forked (it is their parent).
import crypto from 'node:crypto';
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

export class Template {
  pid = -1;
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
    const pid = Number(reply.pid);
    this.children.add(pid);
    const reported = new Promise<ExitInfo>((resolve) => {
      const early = this.exitReports.get(pid);
      if (early) {
        this.exitReports.delete(pid);
        resolve(early);
        return;
      }
      this.exitWaiters.set(pid, resolve);
      // Without a report (the template died, or the instance closed its channel), the
      // channel's end is the end of the instance: make sure of it, then resolve.
      channel.once('close', () => {
        setTimeout(() => {
          if (!this.exitWaiters.delete(pid)) return;
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
