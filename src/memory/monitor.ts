// The node's memory, measured: PSS/USS of every instance, template and zygote
// (and of the agent itself), sampled from /proc every few seconds and on demand
// (API, metrics). The scheduler's budget check reads the last sample
// (MemorySource); between samples, starting and not-yet-measured instances count
// with their manifest reservation, so a burst cannot overshoot the budget.
import { addSample, emptyTotals, sampleAll, sampleAllAsync, type MemorySample, type MemoryTotals } from './pss.js';

export interface AccountedInstance {
  id: string;
  pid: number;
  function: string;
  version: number;
}

export interface AccountedTemplate {
  pid: number;
  function: string;
  version: number;
  runtime: string;
}

export interface AccountedZygote {
  pid: number;
  runtime: string;
}

export interface MemorySources {
  instances(): AccountedInstance[];
  templates(): AccountedTemplate[];
  zygotes(): AccountedZygote[];
}

/** What the scheduler's budget check reads. */
export interface MemorySource {
  /** The last measured PSS of an instance (by instance id) in KB; undefined when not measured yet. */
  instancePssKB(id: string): number | undefined;
  /** The last measured PSS of templates and zygotes in KB (they count toward the budget, and no instance reservation covers them). */
  sharedPssKB(): number;
}

export interface FunctionMemory {
  instances: MemoryTotals;
  templates: MemoryTotals;
  /** instances.pssKB + templates.pssKB: what the function costs the node. */
  pssKB: number;
}

export interface NodeMemoryReport {
  sampledAt: string;
  /** Time the last sample took (all pids), and per pid. */
  sampleMs: number;
  sampleUsPerPid: number;
  budgetMB: number;
  /** What the scheduler charges against the budget right now (see Scheduler.memoryUsedMB). */
  usedMB?: number;
  accounting?: string;
  totals: { instances: MemoryTotals; templates: MemoryTotals; zygotes: MemoryTotals; agent: MemoryTotals };
  functions: Record<string, FunctionMemory>;
  instances: Array<AccountedInstance & Omit<MemorySample, 'pid'>>;
  templates: Array<AccountedTemplate & Omit<MemorySample, 'pid'>>;
  zygotes: Array<AccountedZygote & Omit<MemorySample, 'pid'>>;
  agent: Omit<MemorySample, 'pid'> & { pid: number };
}

function strip(s: MemorySample | undefined): Omit<MemorySample, 'pid'> {
  return { rssKB: s?.rssKB ?? 0, pssKB: s?.pssKB ?? 0, ussKB: s?.ussKB ?? 0, swapKB: s?.swapKB ?? 0, swapPssKB: s?.swapPssKB ?? 0 };
}

export interface MemoryMonitorOptions {
  sources: MemorySources;
  budgetMB: number;
  /** Sampling period; 0 = only on demand. */
  intervalMs: number;
  /** Called after every periodic sample (the scheduler re-checks queued calls: measured memory may have dropped). */
  onSample?: () => void;
}

export class MemoryMonitor implements MemorySource {
  private timer: NodeJS.Timeout | undefined;
  private byInstance = new Map<string, number>();
  private shared = 0;
  private byTemplatePid = new Map<number, number>();
  private last: NodeMemoryReport | undefined;

  constructor(private readonly options: MemoryMonitorOptions) {}

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    let running = false;
    this.timer = setInterval(() => {
      if (running) return;
      running = true;
      this.refreshAsync()
        .then(() => this.options.onSample?.())
        .catch(() => undefined) // a sample is best effort; the next one retries
        .finally(() => (running = false));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  instancePssKB(id: string): number | undefined {
    return this.byInstance.get(id);
  }

  sharedPssKB(): number {
    return this.shared;
  }

  /** The last measured PSS of a template process in KB. */
  templatePssKB(pid: number): number | undefined {
    return this.byTemplatePid.get(pid);
  }

  private processes(): { instances: AccountedInstance[]; templates: AccountedTemplate[]; zygotes: AccountedZygote[]; pids: number[] } {
    const instances = this.options.sources.instances();
    const templates = this.options.sources.templates();
    const zygotes = this.options.sources.zygotes();
    const pids = [...instances.map((i) => i.pid), ...templates.map((t) => t.pid), ...zygotes.map((z) => z.pid), process.pid];
    return { instances, templates, zygotes, pids };
  }

  /** Samples every accounted process now (synchronously: API calls, tests) and returns the report. */
  refresh(): NodeMemoryReport {
    const p = this.processes();
    const t0 = performance.now();
    const samples = sampleAll(p.pids);
    return this.build(p, samples, performance.now() - t0);
  }

  /** refresh() with the /proc reads off the event loop (the periodic sample). */
  async refreshAsync(): Promise<NodeMemoryReport> {
    const p = this.processes();
    const t0 = performance.now();
    const samples = await sampleAllAsync(p.pids);
    return this.build(p, samples, performance.now() - t0);
  }

  private build(p: ReturnType<MemoryMonitor['processes']>, samples: Map<number, MemorySample>, sampleMs: number): NodeMemoryReport {
    const { instances, templates, zygotes, pids } = p;

    const totals = { instances: emptyTotals(), templates: emptyTotals(), zygotes: emptyTotals(), agent: emptyTotals() };
    const functions: Record<string, FunctionMemory> = {};
    const fnOf = (name: string): FunctionMemory => (functions[name] ??= { instances: emptyTotals(), templates: emptyTotals(), pssKB: 0 });
    const byInstance = new Map<string, number>();
    for (const i of instances) {
      const s = samples.get(i.pid);
      if (s) byInstance.set(i.id, s.pssKB);
      addSample(totals.instances, s);
      addSample(fnOf(i.function).instances, s);
    }
    const byTemplatePid = new Map<number, number>();
    for (const t of templates) {
      const s = samples.get(t.pid);
      if (s) byTemplatePid.set(t.pid, s.pssKB);
      addSample(totals.templates, s);
      addSample(fnOf(t.function).templates, s);
    }
    for (const z of zygotes) addSample(totals.zygotes, samples.get(z.pid));
    addSample(totals.agent, samples.get(process.pid));
    for (const f of Object.values(functions)) f.pssKB = f.instances.pssKB + f.templates.pssKB;

    this.byInstance = byInstance;
    this.byTemplatePid = byTemplatePid;
    this.shared = totals.templates.pssKB + totals.zygotes.pssKB;
    this.last = {
      sampledAt: new Date().toISOString(),
      sampleMs,
      sampleUsPerPid: pids.length > 0 ? (sampleMs * 1000) / pids.length : 0,
      budgetMB: this.options.budgetMB,
      totals,
      functions,
      instances: instances.map((i) => ({ ...i, ...strip(samples.get(i.pid)) })),
      templates: templates.map((t) => ({ ...t, ...strip(samples.get(t.pid)) })),
      zygotes: zygotes.map((z) => ({ ...z, ...strip(samples.get(z.pid)) })),
      agent: { pid: process.pid, ...strip(samples.get(process.pid)) },
    };
    return this.last;
  }

  /** The last report (sampling now if there is none). */
  report(): NodeMemoryReport {
    return this.last ?? this.refresh();
  }
}
