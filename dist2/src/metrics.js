// Prometheus metrics (prom-client), one registry per hearth instance.
import client from 'prom-client';
const PHASE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
export class Metrics {
    registry = new client.Registry();
    invocations = new client.Counter({
        name: 'hearth_invocations_total',
        help: 'Invocations by function, start path and outcome (ok, error, timeout, crash, oom, throttled, init_error).',
        labelNames: ['function', 'start_path', 'outcome'],
        registers: [this.registry],
    });
    phaseSeconds = new client.Histogram({
        name: 'hearth_invocation_phase_seconds',
        help: 'Time spent per invocation phase (queue, sandbox, process, init, exec, total) by start path.',
        labelNames: ['phase', 'start_path', 'runtime'],
        buckets: PHASE_BUCKETS,
        registers: [this.registry],
    });
    startSeconds = new client.Histogram({
        name: 'hearth_start_seconds',
        help: 'Time from request arrival until the handler was about to run, by start path.',
        labelNames: ['start_path', 'runtime'],
        buckets: PHASE_BUCKETS,
        registers: [this.registry],
    });
    instances = new client.Gauge({
        name: 'hearth_instances',
        help: 'Instances by state (starting, idle, busy).',
        labelNames: ['state'],
        registers: [this.registry],
    });
    queued = new client.Gauge({ name: 'hearth_queued_invocations', help: 'Invocations waiting for an instance.', registers: [this.registry] });
    evictions = new client.Counter({
        name: 'hearth_evictions_total',
        help: 'Instances stopped by the platform, by reason (keepalive, memory, capacity, retired, deleted).',
        labelNames: ['reason'],
        registers: [this.registry],
    });
    reservedMemoryBytes = new client.Gauge({ name: 'hearth_reserved_memory_bytes', help: 'Memory reserved by running instances (their manifest limits).', registers: [this.registry] });
    functionPssBytes = new client.Gauge({
        name: 'hearth_function_pss_bytes',
        help: 'Proportional set size of all instances of a function (sampled at scrape time).',
        labelNames: ['function'],
        registers: [this.registry],
    });
    constructor() {
        client.collectDefaultMetrics({ register: this.registry, prefix: 'hearth_agent_' });
    }
}
//# sourceMappingURL=metrics.js.map