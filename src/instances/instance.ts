// An instance: a runtime process that loaded one function version and serves one
// invocation at a time over the channel (docs/protocol.md). How it was started
// (cold spawn, fork of a template, restore) is not its concern.
import { readSmapsRollup as readRollup, type MemorySample } from '../memory/pss.js';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { Duplex, Readable } from 'node:stream';
import type { FunctionVersion } from '../registry/store.js';
import { captureOutput } from './output-capture.js';
import type { FunctionLogs } from './function-logs.js';
import { encodeFrame, readFrames, type InstanceMessage, type InvokeContext, type LambdaError } from './protocol.js';

export type StartPath = 'warm' | 'fork' | 'repurpose' | 'restore' | 'cold';
export type InstanceState = 'starting' | 'idle' | 'busy' | 'dead';

/** What the starter hands over: a process that can be killed and watched, and its channel. */
export interface InstanceProcess {
  readonly pid: number;
  /** The process whose memory is the instance's, when `pid` is a supervisor (hearth-enter). */
  accountingPid?: number;
  kill(signal: NodeJS.Signals): void;
  /** Resolves once with the exit status when the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stdout?: Readable | null;
  readonly stderr?: Readable | null;
  /** True when the process was killed by the OOM killer of its cgroup (when known). */
  wasOomKilled?(): boolean;
  /** Frees what the starter allocated for this process (cgroup, shell); called once after exit. */
  cleanup?(): Promise<void> | void;
}

export interface InvokeRequest {
  id: string;
  event: string;
  deadline: number;
  context: InvokeContext;
}

export type ErrorKind = 'handler' | 'timeout' | 'crash' | 'oom';

export interface InvokeOutcome {
  ok: boolean;
  payload?: string;
  error?: LambdaError;
  errorKind?: ErrorKind;
  execMs: number;
  /** Epoch ms at which the handler's first line was about to run (reported by the instance). */
  startedAt?: number;
  /** The invocation's stdout/stderr; resolves when both end sentinels arrived (or the instance died). */
  logs: Promise<string>;
}

export class InitError extends Error {
  constructor(readonly error: LambdaError, readonly kind: ErrorKind = 'handler') {
    super(error.errorMessage);
    this.name = 'InitError';
  }
}

interface Pending {
  request: InvokeRequest;
  sentAt: number;
  resolve(outcome: InvokeOutcome): void;
  timer: NodeJS.Timeout;
  logLines: string[];
  streamsEnded: number;
  resolveLogs(text: string): void;
}

let instanceCounter = 0;

export class Instance extends EventEmitter {
  readonly id: string;
  state: InstanceState = 'starting';
  /** performance.now() of the last completed call (monotonic, sub-millisecond: used for LRU). */
  lastUsed = performance.now();
  invocations = 0;
  initMs = 0;
  private pending: Pending | undefined;
  /**
   * Per output stream, the invocations whose end sentinel has not been read on that
   * stream yet, oldest first: output read from the stream belongs to the first. The
   * result frame can be read before the last output (another fd), so attribution
   * follows the sentinels, not `pending`.
   */
  private readonly outputOwners: Record<'stdout' | 'stderr', Pending[]> = { stdout: [], stderr: [] };
  private readyWaiter: { resolve(initMs: number): void; reject(e: Error): void } | undefined;
  /** The last lines of output outside any invocation (shown when the process dies during init). */
  private readonly recentOutput: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves once the process is gone and the starter's cleanup ran. */
  readonly gone: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private markGone!: (info: { code: number | null; signal: NodeJS.Signals | null }) => void;

  constructor(
    readonly fn: FunctionVersion,
    readonly startPath: Exclude<StartPath, 'warm'>,
    readonly proc: InstanceProcess,
    private readonly channel: Duplex,
    private readonly logs: FunctionLogs,
  ) {
    super();
    this.gone = new Promise((resolve) => (this.markGone = resolve));
    this.id = `${fn.name}-${fn.version}-${++instanceCounter}`;
    readFrames(channel, (m) => this.onMessage(m as InstanceMessage), (e) => this.fail(`protocol error: ${e.message}`));
    channel.on('error', () => undefined); // the exit handler reports the failure
    for (const [name, stream] of [['stdout', proc.stdout], ['stderr', proc.stderr]] as const) {
      if (!stream) continue;
      captureOutput(stream, {
        line: (text) => {
          const owner = this.outputOwners[name][0];
          this.logs.append(fn.name, owner?.request.id, name, text);
          if (owner) owner.logLines.push(text);
          else if (this.recentOutput.push(text) > 10) this.recentOutput.shift();
        },
        end: (requestId) => {
          const owners = this.outputOwners[name];
          const i = owners.findIndex((o) => o.request.id === requestId);
          if (i === -1) return;
          const p = owners.splice(0, i + 1)[i]!;
          if (++p.streamsEnded === 2) p.resolveLogs(p.logLines.join('\n'));
        },
      });
    }
    void proc.exited.then((info) => this.onExit(info));
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Waits for the instance's `ready` message; rejects with InitError on init failure, exit or timeout. */
  waitReady(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiter = undefined;
        this.kill();
        reject(new InitError({ errorType: 'Runtime.InitTimeout', errorMessage: `init did not finish within ${(timeoutMs / 1000).toFixed(2)} seconds` }, 'timeout'));
      }, timeoutMs);
      this.readyWaiter = {
        resolve: (initMs) => {
          clearTimeout(timer);
          resolve(initMs);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private onMessage(message: InstanceMessage): void {
    switch (message.t) {
      case 'ready':
        this.initMs = message.initMs;
        this.state = 'idle';
        this.readyWaiter?.resolve(message.initMs);
        this.readyWaiter = undefined;
        return;
      case 'init_error':
        this.readyWaiter?.reject(new InitError(message.error));
        this.readyWaiter = undefined;
        return;
      case 'result': {
        const p = this.pending;
        if (!p || p.request.id !== message.id) return this.fail(`result for unknown request ${message.id}`);
        // The runtime is about to exit (uncaught error): never hand it another invocation.
        if (message.exiting) this.state = 'dead';
        this.finish(
          message.ok
            ? { ok: true, payload: message.payload, execMs: message.execMs, startedAt: message.startedAt }
            : { ok: false, error: message.error, errorKind: 'handler', execMs: message.execMs, startedAt: message.startedAt },
        );
        return;
      }
      default:
        this.fail(`unexpected message ${JSON.stringify((message as { t?: unknown }).t)}`);
    }
  }

  invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    if (this.state !== 'idle') throw new Error(`instance ${this.id} is ${this.state}, not idle`);
    this.state = 'busy';
    this.invocations += 1;
    return new Promise((resolve) => {
      let resolveLogs!: (text: string) => void;
      const logsPromise = new Promise<string>((r) => (resolveLogs = r));
      const timeoutMs = Math.max(0, request.deadline - Date.now());
      const pending: Pending = {
        request,
        sentAt: performance.now(),
        logLines: [],
        streamsEnded: 0,
        resolveLogs,
        timer: setTimeout(() => this.onTimeout(), timeoutMs),
        resolve: (outcome) => resolve({ ...outcome, logs: logsPromise }),
      };
      this.pending = pending;
      if (this.proc.stdout) this.outputOwners.stdout.push(pending);
      if (this.proc.stderr) this.outputOwners.stderr.push(pending);
      this.channel.write(encodeFrame({ t: 'invoke', id: request.id, event: request.event, deadline: request.deadline, context: request.context }));
    });
  }

  private finish(outcome: Omit<InvokeOutcome, 'logs'>): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    if (this.state === 'busy') this.state = 'idle';
    this.lastUsed = performance.now();
    // Output normally ends with the sentinels right before the result; don't wait forever for them.
    if (p.streamsEnded < 2) setTimeout(() => p.resolveLogs(p.logLines.join('\n')), 200).unref();
    this.pending = undefined;
    p.resolve(outcome as InvokeOutcome);
    // After the caller has its outcome: listeners (e.g. the image tier recording a working set) never delay a reply.
    this.emit('finished', outcome.ok);
  }

  private onTimeout(): void {
    const p = this.pending;
    if (!p) return;
    const seconds = (this.fn.manifest.timeoutS).toFixed(2);
    this.kill();
    this.finishWithError({ errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${seconds} seconds` }, 'timeout');
  }

  private finishWithError(error: LambdaError, kind: ErrorKind): void {
    const p = this.pending;
    if (!p) return;
    const execMs = performance.now() - p.sentAt;
    this.state = 'dead';
    p.resolveLogs(p.logLines.join('\n'));
    this.finish({ ok: false, error, errorKind: kind, execMs });
  }

  private fail(reason: string): void {
    this.emit('protocol-error', reason);
    this.kill();
  }

  private onExit(info: { code: number | null; signal: NodeJS.Signals | null }): void {
    this.exitInfo = info;
    let oom = false;
    try {
      oom = this.proc.wasOomKilled?.() ?? false;
    } catch {
      // the cgroup is already gone: no OOM information
    }
    const how = info.signal ? `signal: ${info.signal === 'SIGKILL' ? 'killed' : info.signal}` : `exit status ${info.code}`;
    const kind: ErrorKind = oom ? 'oom' : 'crash';
    const error: LambdaError = oom
      ? { errorType: 'Runtime.OutOfMemory', errorMessage: `Runtime exited with error: out of memory (limit ${this.fn.manifest.memoryMB} MB)` }
      : { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with error: ${how}` };
    if (this.readyWaiter) {
      const output = this.recentOutput.length > 0 ? `; last output: ${this.recentOutput.join(' | ').slice(-1000)}` : '';
      this.readyWaiter.reject(new InitError({ ...error, errorMessage: `${error.errorMessage} during init${output}` }, kind));
      this.readyWaiter = undefined;
    }
    if (this.pending) this.finishWithError(error, kind);
    this.state = 'dead';
    this.channel.destroy();
    void Promise.resolve()
      .then(() => this.proc.cleanup?.())
      .catch(() => undefined)
      .finally(() => {
        this.markGone(info);
        this.emit('exit', info);
      });
  }

  get exited(): boolean {
    return this.exitInfo !== undefined;
  }

  kill(): void {
    if (this.exitInfo) return;
    this.state = 'dead';
    try {
      this.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Proportional and unique set size of the instance's process, from /proc/<pid>/smaps_rollup. */
  memory(): MemorySample | undefined {
    return readSmapsRollup(this.proc.accountingPid ?? this.pid);
  }
}

export function readSmapsRollup(pid: number): MemorySample | undefined {
  return readRollup(pid);
}
