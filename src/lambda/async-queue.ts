// The durable queue behind Lambda's asynchronous (Event) invocations.
//
// Guarantee: at-least-once. An event is committed to SQLite (fsync'd) before the
// caller gets 202, and its row is deleted only after its outcome is known: it
// succeeded, it failed its last attempt, it grew older than the maximum event
// age, or its function was deleted. A hearth stop or crash at any point leaves
// the row, and the next start on the same data directory runs it again — so an
// event whose invocation was running at the stop runs a second time.
//
// Retries follow Lambda's defaults: a function error (handler exception, init
// failure, timeout, crash, out of memory) is retried twice, 1 minute and then
// 2 minutes later (`lambdaAsyncRetryDelaysMs`). An event that cannot start
// because its function is at its concurrency limit is throttled: it is retried
// with exponential backoff (1 s doubling to 5 min) without counting as an
// attempt, until it is older than the maximum event age (6 hours).
import type { Hearth } from '../hearth.js';
import { isHearthError } from '../errors.js';
import client from 'prom-client';
import type { InvocationResult } from '../scheduler/scheduler.js';
import type { AsyncEvent, LambdaStore } from './store.js';

export interface AsyncQueueOptions {
  /** Delay before each retry after a function error; its length is the number of retries. */
  retryDelaysMs: readonly number[];
  /** Events older than this are discarded (Lambda: 6 hours). */
  maxEventAgeMs: number;
  /** Events running at once, over all functions (each function also stays within its own concurrency). */
  maxConcurrent: number;
  throttleBackoffMs: { initial: number; max: number };
}

export const DEFAULT_ASYNC_OPTIONS: Omit<AsyncQueueOptions, 'retryDelaysMs'> = {
  maxEventAgeMs: 6 * 60 * 60 * 1000,
  maxConcurrent: 16,
  throttleBackoffMs: { initial: 1000, max: 5 * 60 * 1000 },
};

type EventOutcome = 'queued' | 'succeeded' | 'retried' | 'failed' | 'throttled' | 'expired' | 'dropped';

export class AsyncQueue {
  private readonly inFlight = new Map<string, string>();
  private readonly perFunction = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly events: client.Counter<'function' | 'outcome'>;

  constructor(
    private readonly hearth: Hearth,
    private readonly store: LambdaStore,
    private readonly options: AsyncQueueOptions,
  ) {
    this.events = new client.Counter({
      name: 'hearth_lambda_async_events_total',
      help: 'Asynchronous (Event) invocations by function and what happened: queued (accepted), succeeded, retried (a failed attempt that will be retried), failed (the last attempt failed), throttled (concurrency limit; retried later), expired (older than the maximum event age), dropped (function deleted).',
      labelNames: ['function', 'outcome'] as const,
      registers: [hearth.metrics.registry],
    });
    const queue = this;
    new client.Gauge({
      name: 'hearth_lambda_async_events_pending',
      help: 'Accepted asynchronous invocations not yet completed (queued, waiting for a retry, or running).',
      registers: [hearth.metrics.registry],
      collect() {
        if (queue.store.isOpen) this.set(queue.store.pendingCount());
      },
    });
  }

  /** Starts running queued events (including those left by a previous run on this data directory). */
  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops starting events. Rows of events still running stay in the store, so they run again at the next start. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Persists an event for `name`; when this returns the event survives a restart. */
  enqueue(name: string, payload: string, id: string): void {
    this.store.addEvent({ id, function: name, payload, acceptedAt: Date.now() });
    this.count(name, 'queued');
    this.hearth.log.debug({ function: name, requestId: id }, 'async event queued');
    if (this.running) setImmediate(() => this.pump());
  }

  /** The function was deleted: its queued events go with it. */
  dropFunction(name: string): void {
    const dropped = this.store.deleteEventsOf(name);
    if (dropped > 0) {
      this.events.inc({ function: name, outcome: 'dropped' }, dropped);
      this.hearth.log.info({ function: name, dropped }, 'dropped queued async events of a deleted function');
    }
  }

  private count(name: string, outcome: EventOutcome): void {
    this.events.inc({ function: name, outcome });
  }

  private pump(): void {
    if (!this.running || !this.store.isOpen) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    const free = this.options.maxConcurrent - this.inFlight.size;
    if (free > 0) {
      const due = this.store.dueEvents(now, [...this.inFlight.keys()], Math.max(free * 4, 64));
      let started = 0;
      for (const event of due) {
        if (started >= free) break;
        if (now - event.acceptedAt > this.options.maxEventAgeMs) {
          this.finish(event, 'expired', `event is older than the maximum event age (${this.options.maxEventAgeMs / 1000} s); discarded`);
          continue;
        }
        const fn = this.hearth.registry.find(event.function);
        if (!fn) {
          this.finish(event, 'dropped', 'function no longer exists; event discarded');
          continue;
        }
        const active = this.perFunction.get(event.function) ?? 0;
        if (active >= fn.manifest.concurrency) continue; // picked up when one of its events completes
        this.inFlight.set(event.id, event.function);
        this.perFunction.set(event.function, active + 1);
        started += 1;
        void this.run(event);
      }
    }
    const next = this.store.nextDueAfter(now);
    if (next !== undefined) {
      // Re-check at least every minute so that a wall-clock jump cannot stall the queue.
      this.timer = setTimeout(() => this.pump(), Math.min(Math.max(0, next - now), 60_000));
      this.timer.unref();
    }
  }

  private async run(event: AsyncEvent): Promise<void> {
    let result: InvocationResult | undefined;
    let error: unknown;
    try {
      result = await this.hearth.invoke(event.function, event.payload, { requestId: event.id });
    } catch (e) {
      error = e;
    }
    this.inFlight.delete(event.id);
    const active = (this.perFunction.get(event.function) ?? 1) - 1;
    if (active <= 0) this.perFunction.delete(event.function);
    else this.perFunction.set(event.function, active);
    // Stopping: the outcome (often the instance being killed) is not the event's; its row stays for the next start.
    if (!this.running || !this.store.isOpen) return;
    try {
      this.settle(event, result, error);
    } catch (e) {
      this.hearth.log.error({ err: e, requestId: event.id }, 'async queue: could not record an event outcome');
    }
    this.pump();
  }

  private settle(event: AsyncEvent, result: InvocationResult | undefined, error: unknown): void {
    if (result?.outcome.ok) {
      this.finish(event, 'succeeded');
      return;
    }
    if (error !== undefined) {
      if (isHearthError(error) && error.code === 'HEARTH_E_FUNCTION_NOT_FOUND') {
        this.finish(event, 'dropped', 'function no longer exists; event discarded');
        return;
      }
      if (isHearthError(error) && (error.code === 'HEARTH_E_TOO_MANY_REQUESTS' || error.code === 'HEARTH_E_CAPACITY')) {
        const delay = Math.min(this.options.throttleBackoffMs.initial * 2 ** event.throttles, this.options.throttleBackoffMs.max);
        this.store.reschedule(event.id, { attempts: event.attempts, throttles: event.throttles + 1, nextAttemptAt: Date.now() + delay });
        this.count(event.function, 'throttled');
        return;
      }
      if (isHearthError(error) && error.code === 'HEARTH_E_SHUTTING_DOWN') return;
      this.hearth.log.error({ err: error, requestId: event.id, function: event.function }, 'async event: invocation failed in the platform');
    }
    const attempts = event.attempts + 1;
    const reason = result && !result.outcome.ok ? `${result.outcome.error?.errorType ?? 'Error'}: ${result.outcome.error?.errorMessage ?? ''}` : `platform error: ${(error as Error | undefined)?.message ?? 'unknown'}`;
    const delay = this.options.retryDelaysMs[attempts - 1];
    if (delay === undefined) {
      this.finish(event, 'failed', `attempt ${attempts} failed (${reason}); no retries left, event discarded`);
      return;
    }
    this.store.reschedule(event.id, { attempts, throttles: event.throttles, nextAttemptAt: Date.now() + delay });
    this.count(event.function, 'retried');
    this.note(event, `attempt ${attempts} failed (${reason}); retrying in ${(delay / 1000).toFixed(1)} s`);
  }

  private finish(event: AsyncEvent, outcome: Exclude<EventOutcome, 'queued' | 'retried' | 'throttled'>, message?: string): void {
    this.store.deleteEvent(event.id);
    this.count(event.function, outcome);
    if (message) this.note(event, message);
  }

  /** A line in the function's log (`hearth logs`), attributed to the event's request id. */
  private note(event: AsyncEvent, message: string): void {
    if (this.hearth.registry.find(event.function)) this.hearth.logs.append(event.function, event.id, 'platform', `ASYNC ${message}`);
    this.hearth.log.info({ function: event.function, requestId: event.id }, `async event: ${message}`);
  }
}
