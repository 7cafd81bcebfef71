// Prometheus metrics (prom-client), one registry per hearth instance.
import client from 'prom-client';

const PHASE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  readonly registry = new client.Registry();
  readonly invocations = new client.Counter({
    name: 'hearth_invocations_total',
    help: 'Invocations by function, start path and outcome (ok, error, timeout, crash, oom, throttled, init_error).',
    labelNames: ['function', 'start_path', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly phaseSeconds = new client.Histogram({
    name: 'hearth_invocation_phase_seconds',
    help: 'Time spent per invocation phase (queue, sandbox, process, init, exec, total) by start path.',
    labelNames: ['phase', 'start_path', 'runtime'] as const,
    buckets: PHASE_BUCKETS,
    registers: [this.registry],
  });
  readonly startSeconds = new client.Histogram({
    name: 'hearth_start_seconds',
    help: 'Time from request arrival until the handler was about to run, by start path.',
    labelNames: ['start_path', 'runtime'] as const,
    buckets: PHASE_BUCKETS,
    registers: [this.registry],
  });
  readonly instances = new client.Gauge({
    name: 'hearth_instances',
    help: 'Instances by state (starting, idle, busy).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly queued = new client.Gauge({ name: 'hearth_queued_invocations', help: 'Invocations waiting for an instance.', registers: [this.registry] });
  readonly evictions = new client.Counter({
    name: 'hearth_evictions_total',
    help: 'Instances stopped by the platform, by reason (keepalive, memory, capacity, retired, deleted).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly reservedMemoryBytes = new client.Gauge({ name: 'hearth_reserved_memory_bytes', help: 'Memory reserved by running instances (their manifest limits).', registers: [this.registry] });
  readonly memoryUsedBytes = new client.Gauge({
    name: 'hearth_memory_used_bytes',
    help: 'Memory charged against the node budget: measured PSS of instances (per HEARTH_MEMORY_ACCOUNTING), templates and zygotes, plus the manifest memory of starting instances.',
    registers: [this.registry],
  });
  readonly memoryBudgetBytes = new client.Gauge({ name: 'hearth_memory_budget_bytes', help: 'The node memory budget (HEARTH_MEMORY_BUDGET_MB).', registers: [this.registry] });
  readonly functionPssBytes = new client.Gauge({
    name: 'hearth_function_pss_bytes',
    help: 'Proportional set size of a function, by kind: its instances or its template (sampled at scrape time).',
    labelNames: ['function', 'kind'] as const,
    registers: [this.registry],
  });
  readonly functionUssBytes = new client.Gauge({
    name: 'hearth_function_uss_bytes',
    help: 'Unique set size (private pages) of a function, by kind: instance or template (sampled at scrape time).',
    labelNames: ['function', 'kind'] as const,
    registers: [this.registry],
  });
  readonly nodePssBytes = new client.Gauge({
    name: 'hearth_node_pss_bytes',
    help: 'Proportional set size on the node by kind: instances, templates, zygotes, agent (sampled at scrape time).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly zygotePssBytes = new client.Gauge({
    name: 'hearth_zygote_pss_bytes',
    help: 'Proportional set size of each runtime zygote.',
    labelNames: ['runtime'] as const,
    registers: [this.registry],
  });
  readonly memorySampleSeconds = new client.Gauge({ name: 'hearth_memory_sample_seconds', help: 'Time the last memory sample (smaps_rollup of every accounted pid) took.', registers: [this.registry] });

  readonly templateDemotions = new client.Counter({
    name: 'hearth_template_demotions_total',
    help: 'Templates paged out to the image tier, by reason (memory: the budget needed room; pressure: usage crossed the high watermark; idle: unused for HEARTH_TEMPLATE_IDLE_MS).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly templateEvictions = new client.Counter({
    name: 'hearth_template_evictions_total',
    help: 'Templates and images dropped for good, by the tier they were in (template, image) and reason (memory: no swap to page out to; disk: the image disk budget; corrupt/stale: an image record failed its check; retired: redeploy or deletion).',
    labelNames: ['tier', 'reason'] as const,
    registers: [this.registry],
  });
  readonly imageRestores = new client.Counter({
    name: 'hearth_image_restores_total',
    help: 'Restores from the image tier, by outcome (ok; corrupt, stale or missing: the record failed its check and the call started cold).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly functionTier = new client.Gauge({
    name: 'hearth_function_tier',
    help: 'The tier a function is in: 1 for its current tier (instances, template, image, none), 0 otherwise (sampled at scrape time).',
    labelNames: ['function', 'tier'] as const,
    registers: [this.registry],
  });
  readonly imageDiskBytes = new client.Gauge({
    name: 'hearth_image_disk_bytes',
    help: 'Disk held by the image tier: swap used by paged-out templates plus their image records (sampled at scrape time).',
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'hearth_agent_' });
  }
}
