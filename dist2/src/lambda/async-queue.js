import { isHearthError } from '../errors.js';
import client from 'prom-client';
export const DEFAULT_ASYNC_OPTIONS = {
    maxEventAgeMs: 6 * 60 * 60 * 1000,
    maxConcurrent: 16,
    throttleBackoffMs: { initial: 1000, max: 5 * 60 * 1000 },
};
export class AsyncQueue {
    hearth;
    store;
    options;
    inFlight = new Map();
    perFunction = new Map();
    timer;
    running = false;
    events;
    constructor(hearth, store, options) {
        this.hearth = hearth;
        this.store = store;
        this.options = options;
        this.events = new client.Counter({
            name: 'hearth_lambda_async_events_total',
            help: 'Asynchronous (Event) invocations by function and what happened: queued (accepted), succeeded, retried (a failed attempt that will be retried), failed (the last attempt failed), throttled (concurrency limit; retried later), expired (older than the maximum event age), dropped (function deleted).',
            labelNames: ['function', 'outcome'],
            registers: [hearth.metrics.registry],
        });
        const queue = this;
        new client.Gauge({
            name: 'hearth_lambda_async_events_pending',
            help: 'Accepted asynchronous invocations not yet completed (queued, waiting for a retry, or running).',
            registers: [hearth.metrics.registry],
            collect() {
                if (queue.store.isOpen)
                    this.set(queue.store.pendingCount());
            },
        });
    }
    /** Starts running queued events (including those left by a previous run on this data directory). */
    start() {
        this.running = true;
        this.pump();
    }
    /** Stops starting events. Rows of events still running stay in the store, so they run again at the next start. */
    stop() {
        this.running = false;
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = undefined;
    }
    /** Persists an event for `name`; when this returns the event survives a restart. */
    enqueue(name, payload, id) {
        this.store.addEvent({ id, function: name, payload, acceptedAt: Date.now() });
        this.count(name, 'queued');
        this.hearth.log.debug({ function: name, requestId: id }, 'async event queued');
        if (this.running)
            setImmediate(() => this.pump());
    }
    /** The function was deleted: its queued events go with it. */
    dropFunction(name) {
        const dropped = this.store.deleteEventsOf(name);
        if (dropped > 0) {
            this.events.inc({ function: name, outcome: 'dropped' }, dropped);
            this.hearth.log.info({ function: name, dropped }, 'dropped queued async events of a deleted function');
        }
    }
    count(name, outcome) {
        this.events.inc({ function: name, outcome });
    }
    pump() {
        if (!this.running || !this.store.isOpen)
            return;
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = undefined;
        const now = Date.now();
        const free = this.options.maxConcurrent - this.inFlight.size;
        if (free > 0) {
            const due = this.store.dueEvents(now, [...this.inFlight.keys()], Math.max(free * 4, 64));
            let started = 0;
            for (const event of due) {
                if (started >= free)
                    break;
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
                if (active >= fn.manifest.concurrency)
                    continue; // picked up when one of its events completes
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
    async run(event) {
        let result;
        let error;
        try {
            result = await this.hearth.invoke(event.function, event.payload, { requestId: event.id });
        }
        catch (e) {
            error = e;
        }
        this.inFlight.delete(event.id);
        const active = (this.perFunction.get(event.function) ?? 1) - 1;
        if (active <= 0)
            this.perFunction.delete(event.function);
        else
            this.perFunction.set(event.function, active);
        // Stopping: the outcome (often the instance being killed) is not the event's; its row stays for the next start.
        if (!this.running || !this.store.isOpen)
            return;
        try {
            this.settle(event, result, error);
        }
        catch (e) {
            this.hearth.log.error({ err: e, requestId: event.id }, 'async queue: could not record an event outcome');
        }
        this.pump();
    }
    settle(event, result, error) {
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
            if (isHearthError(error) && error.code === 'HEARTH_E_SHUTTING_DOWN')
                return;
            this.hearth.log.error({ err: error, requestId: event.id, function: event.function }, 'async event: invocation failed in the platform');
        }
        const attempts = event.attempts + 1;
        const reason = result && !result.outcome.ok ? `${result.outcome.error?.errorType ?? 'Error'}: ${result.outcome.error?.errorMessage ?? ''}` : `platform error: ${error?.message ?? 'unknown'}`;
        const delay = this.options.retryDelaysMs[attempts - 1];
        if (delay === undefined) {
            this.finish(event, 'failed', `attempt ${attempts} failed (${reason}); no retries left, event discarded`);
            return;
        }
        this.store.reschedule(event.id, { attempts, throttles: event.throttles, nextAttemptAt: Date.now() + delay });
        this.count(event.function, 'retried');
        this.note(event, `attempt ${attempts} failed (${reason}); retrying in ${(delay / 1000).toFixed(1)} s`);
    }
    finish(event, outcome, message) {
        this.store.deleteEvent(event.id);
        this.count(event.function, outcome);
        if (message)
            this.note(event, message);
    }
    /** A line in the function's log (`hearth logs`), attributed to the event's request id. */
    note(event, message) {
        if (this.hearth.registry.find(event.function))
            this.hearth.logs.append(event.function, event.id, 'platform', `ASYNC ${message}`);
        this.hearth.log.info({ function: event.function, requestId: event.id }, `async event: ${message}`);
    }
}
//# sourceMappingURL=async-queue.js.map