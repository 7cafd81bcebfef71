// The scheduler: one invocation per instance at a time; new instances up to the
// function's concurrency and the node's limits; a bounded queue per function;
// idle instances kept warm with a TTL and evicted least-recently-used when the
// node's memory budget or instance cap needs room.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import { HearthError } from '../errors.js';
import { InitError, type Instance, type InvokeOutcome, type StartPath } from '../instances/instance.js';
import type { InstanceStarter, StartTimings } from '../instances/starter.js';
import type { Metrics } from '../metrics.js';
import type { MemorySource } from '../memory/monitor.js';
import type { FunctionVersion } from '../registry/store.js';
import { chooseStarter } from './start-path.js';

export interface SchedulerLimits {
  maxInstances: number;
  memoryBudgetMB: number;
  keepAliveMs: number;
  queueLength: number;
  /**
   * How an instance is charged against memoryBudgetMB (templates and zygotes always count with their measured PSS):
   * 'reserved' (default): max(measured PSS, manifest memoryMB) — an instance may grow to its limit;
   * 'measured': its measured PSS only (overcommit: forked instances sharing a template cost what they really use).
   * Starting and not-yet-measured instances count with their manifest memoryMB in both modes.
   */
  memoryAccounting?: 'reserved' | 'measured';
}

export interface PhaseTimings extends StartTimings {
  queueMs: number;
  execMs: number;
  totalMs: number;
  /** Request arrival until the handler's first line. */
  startMs: number;
}

/** The phases of an invocation, by name, in the order they happen (headers, metrics, CLI). */
export const PHASES = [
  ['queue', 'queueMs'],
  ['sandbox', 'sandboxMs'],
  ['process', 'processMs'],
  ['init', 'initMs'],
  ['exec', 'execMs'],
  ['start', 'startMs'],
  ['total', 'totalMs'],
] as const satisfies ReadonlyArray<readonly [string, keyof PhaseTimings]>;

export interface InvocationResult {
  requestId: string;
  function: string;
  version: number;
  startPath: StartPath;
  instanceId: string;
  timings: PhaseTimings;
  outcome: InvokeOutcome;
}

interface Lease {
  instance: Instance;
  startPath: StartPath;
  start: StartTimings;
}

interface Waiter {
  fn: FunctionVersion;
  enqueuedAt: number;
  resolve(lease: Lease): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

class FunctionPool {
  readonly idle: Instance[] = [];
  readonly busy = new Set<Instance>();
  starting = 0;
  readonly queue: Waiter[] = [];
  latestVersion = 0;
  /** Invocations by start path (hit rates per path). */
  readonly paths: Partial<Record<StartPath, number>> = {};

  get active(): number {
    return this.busy.size + this.starting;
  }
}

const ZERO_START: StartTimings = { sandboxMs: 0, processMs: 0, initMs: 0 };

export class Scheduler {
  private readonly pools = new Map<string, FunctionPool>();
  private readonly keepAliveTimers = new Map<Instance, NodeJS.Timeout>();
  /** Instances whose slot (count and memory) is still held; an evicted instance frees it at once, not at exit. */
  private readonly holdingSlot = new Set<Instance>();
  private instanceCount = 0;
  private reservedMB = 0;
  /** Manifest memory of instances being started (not measurable yet). */
  private startingMB = 0;
  private closing = false;
  /**
   * Frees memory beyond idle instances (the image tier demotes templates): asked for about
   * `needMB` (never from `forFunction`, which needs the room), it returns the MB it expects to free;
   * the queued calls are pumped once memory changes.
   */
  private reclaimer: ((needMB: number, forFunction: string) => number) | undefined;

  constructor(
    private readonly starters: ReadonlyMap<Exclude<StartPath, 'warm'>, InstanceStarter>,
    private readonly limits: SchedulerLimits,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** Measured PSS (src/memory/monitor.ts); without it the budget counts manifest memory only. */
    private readonly memory?: MemorySource,
  ) {}

  /**
   * Memory charged against the budget, in MB: starting instances at their manifest
   * memory, running ones per limits.memoryAccounting, plus the measured PSS of
   * templates and zygotes.
   */
  memoryUsedMB(): number {
    if (!this.memory) return this.reservedMB;
    const measuredOnly = this.limits.memoryAccounting === 'measured';
    let kb = this.memory.sharedPssKB();
    for (const instance of this.holdingSlot) {
      const reservedKB = instance.fn.manifest.memoryMB * 1024;
      const pss = this.memory.instancePssKB(instance.id);
      kb += pss === undefined ? reservedKB : measuredOnly ? pss : Math.max(pss, reservedKB);
    }
    return this.startingMB + kb / 1024;
  }

  setReclaimer(reclaimer: (needMB: number, forFunction: string) => number): void {
    this.reclaimer = reclaimer;
  }

  /** Live instances of `name`: idle, busy and starting. */
  liveInstances(name: string): number {
    const pool = this.pools.get(name);
    return pool ? pool.idle.length + pool.busy.size + pool.starting : 0;
  }

  /** Instances that hold a slot (idle and busy), for memory accounting. */
  accountedInstances(): Instance[] {
    return [...this.holdingSlot];
  }

  /** Measured memory changed (a new sample): queued calls may fit now. */
  memoryChanged(): void {
    this.updateGauges();
    this.pump();
  }

  private pool(name: string): FunctionPool {
    let pool = this.pools.get(name);
    if (!pool) {
      pool = new FunctionPool();
      this.pools.set(name, pool);
    }
    return pool;
  }

  async invoke(fn: FunctionVersion, event: string, options: { requestId?: string } = {}): Promise<InvocationResult> {
    if (this.closing) throw new HearthError('HEARTH_E_SHUTTING_DOWN', 'hearth is shutting down');
    const arrival = performance.now();
    const arrivalEpoch = Date.now();
    const requestId = options.requestId ?? crypto.randomUUID();
    let lease: Lease;
    try {
      lease = await this.acquire(fn);
    } catch (error) {
      if (error instanceof InitError) {
        this.metrics.invocations.inc({ function: fn.name, start_path: 'cold', outcome: 'init_error' });
        return this.initFailure(fn, requestId, arrival, error);
      }
      if (error instanceof HearthError && error.code === 'HEARTH_E_TOO_MANY_REQUESTS') {
        this.metrics.invocations.inc({ function: fn.name, start_path: 'none', outcome: 'throttled' });
      }
      throw error;
    }
    const acquired = performance.now();
    const { instance } = lease;
    const m = fn.manifest;
    const deadline = arrivalEpoch + m.timeoutS * 1000;
    const outcome = await instance.invoke({
      id: requestId,
      event,
      deadline: Math.max(deadline, Date.now() + 1),
      context: {
        functionName: fn.name,
        functionVersion: String(fn.version),
        memoryLimitMB: m.memoryMB,
        invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${fn.name}`,
        logGroupName: `/aws/lambda/${fn.name}`,
        logStreamName: `${new Date(arrivalEpoch).toISOString().slice(0, 10).replaceAll('-', '/')}/[${fn.version}]${instance.id}`,
      },
    });
    const done = performance.now();
    this.release(instance);

    const startSpent = lease.start.sandboxMs + lease.start.processMs + lease.start.initMs;
    const queueMs = Math.max(0, acquired - arrival - startSpent);
    // The instance reports when the handler's first line ran (epoch ms); fall back to the dispatch time.
    const startMs = outcome.startedAt !== undefined ? Math.max(0, outcome.startedAt - (performance.timeOrigin + arrival)) : acquired - arrival;
    const timings: PhaseTimings = { queueMs, ...lease.start, execMs: outcome.execMs, totalMs: done - arrival, startMs };
    this.observe(fn, lease.startPath, timings, outcome);
    return { requestId, function: fn.name, version: fn.version, startPath: lease.startPath, instanceId: instance.id, timings, outcome };
  }

  private initFailure(fn: FunctionVersion, requestId: string, arrival: number, error: InitError): InvocationResult {
    const totalMs = performance.now() - arrival;
    return {
      requestId,
      function: fn.name,
      version: fn.version,
      startPath: 'cold',
      instanceId: '',
      timings: { queueMs: 0, sandboxMs: 0, processMs: 0, initMs: totalMs, execMs: 0, totalMs, startMs: totalMs },
      outcome: { ok: false, error: error.error, errorKind: error.kind, execMs: 0, logs: Promise.resolve('') },
    };
  }

  private observe(fn: FunctionVersion, startPath: StartPath, t: PhaseTimings, outcome: InvokeOutcome): void {
    const runtime = fn.manifest.runtime;
    const paths = this.pool(fn.name).paths;
    paths[startPath] = (paths[startPath] ?? 0) + 1;
    for (const [phase, field] of PHASES) {
      if (phase === 'start') this.metrics.startSeconds.observe({ start_path: startPath, runtime }, t.startMs / 1000);
      else this.metrics.phaseSeconds.observe({ phase, start_path: startPath, runtime }, t[field] / 1000);
    }
    const outcomeLabel = outcome.ok ? 'ok' : outcome.errorKind === 'handler' ? 'error' : (outcome.errorKind ?? 'error');
    this.metrics.invocations.inc({ function: fn.name, start_path: startPath, outcome: outcomeLabel });
  }

  /** Gets an instance for `fn`: warm if one is idle, else a new one, else a place in the queue. */
  private acquire(fn: FunctionVersion): Promise<Lease> {
    const pool = this.pool(fn.name);
    pool.latestVersion = Math.max(pool.latestVersion, fn.version);
    const warm = this.takeIdle(pool, fn.version);
    if (warm) return Promise.resolve({ instance: warm, startPath: 'warm', start: ZERO_START });
    // An instance that could never fit would leave the call waiting for its whole timeout: say so now.
    if (fn.manifest.memoryMB > this.limits.memoryBudgetMB) {
      throw new HearthError('HEARTH_E_CAPACITY', `function '${fn.name}' needs ${fn.manifest.memoryMB} MB per instance, more than this node's whole memory budget (${this.limits.memoryBudgetMB} MB)`, { function: fn.name, memoryMB: fn.manifest.memoryMB, budgetMB: this.limits.memoryBudgetMB });
    }
    if (pool.active < fn.manifest.concurrency && this.makeRoom(fn)) return this.startFor(fn, pool);
    if (pool.queue.length >= this.limits.queueLength) {
      throw new HearthError('HEARTH_E_TOO_MANY_REQUESTS', `function '${fn.name}' is at its concurrency limit (${fn.manifest.concurrency}) and its queue is full (${this.limits.queueLength})`, { function: fn.name });
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        fn,
        enqueuedAt: performance.now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.removeWaiter(pool, waiter);
          reject(new HearthError('HEARTH_E_TOO_MANY_REQUESTS', `function '${fn.name}': no instance became free within ${fn.manifest.timeoutS} s`, { function: fn.name }));
        }, fn.manifest.timeoutS * 1000),
      };
      pool.queue.push(waiter);
      this.updateGauges();
    });
  }

  private removeWaiter(pool: FunctionPool, waiter: Waiter): void {
    const i = pool.queue.indexOf(waiter);
    if (i !== -1) pool.queue.splice(i, 1);
    clearTimeout(waiter.timer);
    this.updateGauges();
  }

  private takeIdle(pool: FunctionPool, version: number): Instance | undefined {
    // Most recently used first: its caches are warmest.
    for (let i = pool.idle.length - 1; i >= 0; i--) {
      const instance = pool.idle[i]!;
      if (instance.fn.version !== version || instance.state !== 'idle') continue;
      pool.idle.splice(i, 1);
      this.clearKeepAlive(instance);
      pool.busy.add(instance);
      this.updateGauges();
      return instance;
    }
    return undefined;
  }

  /** True when the node can hold one more instance of `fn`, after evicting idle instances if needed. */
  private makeRoom(fn: FunctionVersion): boolean {
    const fits = (): boolean => {
      if (this.instanceCount >= this.limits.maxInstances) return false;
      const used = this.memoryUsedMB();
      if (used + fn.manifest.memoryMB <= this.limits.memoryBudgetMB) return true;
      // Templates and zygotes alone can fill the budget, and evicting instances cannot help then: one
      // instance may still start, or calls would wait forever (the reclaimer demotes templates meanwhile).
      return this.holdingSlot.size === 0 && this.startingMB === 0 && fn.manifest.memoryMB <= this.limits.memoryBudgetMB;
    };
    const overMB = (): number => this.memoryUsedMB() + fn.manifest.memoryMB - this.limits.memoryBudgetMB;
    if (overMB() <= 0 && fits()) return true;
    // Idle instances first (least recently used), then templates (the reclaimer pages them out to images).
    const idle = [...this.pools.values()].flatMap((p) => p.idle).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const victim of idle) {
      if (overMB() <= 0 && fits()) break;
      this.evict(victim, this.instanceCount >= this.limits.maxInstances ? 'capacity' : 'memory');
    }
    if (overMB() > 0 && this.reclaimer) this.reclaimer(overMB(), fn.name);
    return fits();
  }

  private async startFor(fn: FunctionVersion, pool: FunctionPool): Promise<Lease> {
    pool.starting += 1;
    this.instanceCount += 1;
    this.reservedMB += fn.manifest.memoryMB;
    this.startingMB += fn.manifest.memoryMB;
    this.updateGauges();
    const starter = chooseStarter(fn, this.starters);
    let started: Awaited<ReturnType<InstanceStarter['start']>>;
    try {
      started = await starter.start(fn);
    } catch (error) {
      // The failed start's slot is free again: its process is dead or never existed.
      pool.starting -= 1;
      this.instanceCount -= 1;
      this.reservedMB -= fn.manifest.memoryMB;
      this.startingMB -= fn.manifest.memoryMB;
      this.updateGauges();
      this.pump();
      throw error;
    }
    const { instance, timings } = started;
    pool.starting -= 1;
    this.startingMB -= fn.manifest.memoryMB;
    this.holdingSlot.add(instance);
    // From here on the instance's exit gives its slot back.
    void instance.gone.then(() => this.onInstanceExit(pool, instance));
    if (this.closing) {
      instance.kill();
      throw new HearthError('HEARTH_E_SHUTTING_DOWN', 'hearth is shutting down');
    }
    pool.busy.add(instance);
    this.updateGauges();
    return { instance, startPath: started.path ?? starter.path, start: timings };
  }

  /** An invocation finished: hand the instance to the next waiter, keep it warm, or retire it. */
  private release(instance: Instance): void {
    const pool = this.pool(instance.fn.name);
    pool.busy.delete(instance);
    if (instance.state !== 'idle') {
      this.updateGauges();
      return; // dead: onInstanceExit accounts for it
    }
    if (instance.fn.version < pool.latestVersion) {
      this.evict(instance, 'retired');
      return;
    }
    const waiter = pool.queue.find((w) => w.fn.version === instance.fn.version);
    if (waiter) {
      this.removeWaiter(pool, waiter);
      pool.busy.add(instance);
      this.updateGauges();
      waiter.resolve({ instance, startPath: 'warm', start: ZERO_START });
      return;
    }
    pool.idle.push(instance);
    this.armKeepAlive(instance);
    this.updateGauges();
    this.pump();
  }

  private armKeepAlive(instance: Instance): void {
    const timer = setTimeout(() => this.evict(instance, 'keepalive'), this.limits.keepAliveMs);
    timer.unref();
    this.keepAliveTimers.set(instance, timer);
  }

  private clearKeepAlive(instance: Instance): void {
    const timer = this.keepAliveTimers.get(instance);
    if (timer) clearTimeout(timer);
    this.keepAliveTimers.delete(instance);
  }

  private evict(instance: Instance, reason: 'keepalive' | 'memory' | 'capacity' | 'retired' | 'deleted' | 'shutdown'): void {
    const pool = this.pool(instance.fn.name);
    const i = pool.idle.indexOf(instance);
    if (i !== -1) pool.idle.splice(i, 1);
    this.clearKeepAlive(instance);
    this.freeSlot(instance);
    this.metrics.evictions.inc({ reason });
    this.log.debug({ instance: instance.id, reason }, 'stopping instance');
    instance.kill();
  }

  private onInstanceExit(pool: FunctionPool, instance: Instance): void {
    const i = pool.idle.indexOf(instance);
    if (i !== -1) pool.idle.splice(i, 1);
    pool.busy.delete(instance);
    this.clearKeepAlive(instance);
    this.freeSlot(instance);
    this.updateGauges();
    this.pump();
  }

  private freeSlot(instance: Instance): void {
    if (!this.holdingSlot.delete(instance)) return;
    this.instanceCount -= 1;
    this.reservedMB -= instance.fn.manifest.memoryMB;
  }

  /** Starts instances for queued invocations where limits now allow. */
  private pump(): void {
    if (this.closing) return;
    for (const pool of this.pools.values()) {
      while (pool.queue.length > 0) {
        const waiter = pool.queue[0]!;
        const warm = this.takeIdle(pool, waiter.fn.version);
        if (warm) {
          this.removeWaiter(pool, waiter);
          waiter.resolve({ instance: warm, startPath: 'warm', start: ZERO_START });
          continue;
        }
        if (pool.active >= waiter.fn.manifest.concurrency || !this.makeRoom(waiter.fn)) break;
        this.removeWaiter(pool, waiter);
        const queuedMs = performance.now() - waiter.enqueuedAt;
        this.startFor(waiter.fn, pool).then(waiter.resolve, waiter.reject);
        this.log.debug({ function: waiter.fn.name, queuedMs }, 'starting instance for queued invocation');
      }
    }
  }

  /** A new version of `name` was deployed: idle instances of older versions stop now, busy ones when done. */
  retireOldVersions(name: string, latestVersion: number): void {
    const pool = this.pool(name);
    pool.latestVersion = Math.max(pool.latestVersion, latestVersion);
    for (const instance of [...pool.idle]) if (instance.fn.version < latestVersion) this.evict(instance, 'retired');
  }

  /** `name` was deleted: every instance stops and queued invocations fail. Resolves once they are gone. */
  async removeFunction(name: string): Promise<void> {
    const pool = this.pools.get(name);
    if (!pool) return;
    for (const waiter of [...pool.queue]) {
      this.removeWaiter(pool, waiter);
      waiter.reject(new HearthError('HEARTH_E_FUNCTION_NOT_FOUND', `function '${name}' was deleted`, { function: name }));
    }
    const instances = [...pool.idle, ...pool.busy];
    for (const instance of instances) this.evict(instance, 'deleted');
    await Promise.all(instances.map((i) => i.gone));
  }

  /** Instances and queue per function, with memory (PSS/USS) read from /proc. */
  stats(name?: string): Array<{ function: string; idle: number; busy: number; starting: number; queued: number; startPaths: Partial<Record<StartPath, number>>; instances: Array<{ id: string; pid: number; version: number; state: string; startPath: string; invocations: number; pssKB?: number; ussKB?: number }> }> {
    const names = name ? [name] : [...this.pools.keys()];
    return names.map((n) => {
      const pool = this.pools.get(n) ?? new FunctionPool();
      const instances = [...pool.idle, ...pool.busy].map((i) => ({
        id: i.id,
        pid: i.pid,
        version: i.fn.version,
        state: i.state,
        startPath: i.startPath,
        invocations: i.invocations,
        ...i.memory(),
      }));
      return { function: n, idle: pool.idle.length, busy: pool.busy.size, starting: pool.starting, queued: pool.queue.length, startPaths: { ...pool.paths }, instances };
    });
  }

  private updateGauges(): void {
    let idle = 0;
    let busy = 0;
    let starting = 0;
    let queued = 0;
    for (const pool of this.pools.values()) {
      idle += pool.idle.length;
      busy += pool.busy.size;
      starting += pool.starting;
      queued += pool.queue.length;
    }
    this.metrics.instances.set({ state: 'idle' }, idle);
    this.metrics.instances.set({ state: 'busy' }, busy);
    this.metrics.instances.set({ state: 'starting' }, starting);
    this.metrics.queued.set(queued);
    this.metrics.reservedMemoryBytes.set(this.reservedMB * 1024 * 1024);
    this.metrics.memoryUsedBytes.set(Math.round(this.memoryUsedMB() * 1024 * 1024));
  }

  /** Stops every instance and fails queued invocations. */
  async close(): Promise<void> {
    this.closing = true;
    const exits: Array<Promise<unknown>> = [];
    for (const [name, pool] of this.pools) {
      for (const waiter of [...pool.queue]) {
        this.removeWaiter(pool, waiter);
        waiter.reject(new HearthError('HEARTH_E_SHUTTING_DOWN', 'hearth is shutting down'));
      }
      for (const instance of [...pool.idle, ...pool.busy]) {
        exits.push(instance.gone);
        this.evict(instance, 'shutdown');
      }
      this.log.debug({ function: name }, 'stopped instances');
    }
    await Promise.all(exits);
    for (const starter of this.starters.values()) await starter.close?.();
  }
}
