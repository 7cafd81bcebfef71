// The platform as one object: registry, instance starters, scheduler, logs and
// metrics, built from a config. The HTTP API and the tests drive it through
// this interface; main.ts wires it to a server.
import crypto from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { HearthConfig } from './config.js';
import { HearthError } from './errors.js';
import { ColdStarter } from './instances/cold-start.js';
import { TemplateStarters } from './instances/fork-start.js';
import type { TierInfo } from './instances/template-tier.js';
import { SandboxedColdStarter } from './instances/sandboxed-cold-start.js';
import { assertHost } from './sandbox/host-check.js';
import { NetnsPool } from './sandbox/netns-pool.js';
import { ShellPool } from './sandbox/shell-pool.js';
import { claimOwnership, sweepStale, type OwnerClaim } from './sandbox/stale-sweep.js';
import { FunctionLogs } from './instances/function-logs.js';
import type { StartPath } from './instances/instance.js';
import type { InstanceStarter } from './instances/starter.js';
import { Metrics } from './metrics.js';
import { ImageStore } from './memory/image-store.js';
import { MemoryMonitor, type NodeMemoryReport } from './memory/monitor.js';
import { SwapArea, setUpSwap } from './memory/swap.js';
import { CgroupManager, detectCgroupHost } from './sandbox/cgroups.js';
import { loadNative, NATIVE_ADDON_PATH, sandboxLibPath, type HearthNative } from './sandbox/native.js';
import { fdPassingFrom } from './zygote/fd-passing.js';
import { Registry, type FunctionVersion } from './registry/registry.js';
import { Scheduler, type InvocationResult } from './scheduler/scheduler.js';

function tryLoadNative(log: Logger): HearthNative | undefined {
  try {
    return loadNative();
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'native addon unavailable: only the cold start path is used');
    return undefined;
  }
}

function sandboxLibOrUndefined(log: Logger): string | undefined {
  try {
    return sandboxLibPath();
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'sandbox library unavailable: sandboxed instances start cold');
    return undefined;
  }
}

export class Hearth {
  readonly registry: Registry;
  readonly scheduler: Scheduler;
  readonly logs: FunctionLogs;
  readonly metrics: Metrics;
  /** Zygotes and templates (fork and repurpose paths); undefined when disabled or the native addon is missing. */
  templates: TemplateStarters | undefined;
  private shells: ShellPool | undefined;
  private netns: NetnsPool | undefined;
  private sandboxedCold: SandboxedColdStarter | undefined;
  /** Per-instance cgroups; undefined when the host offers none to hearth (not root, no memory/pids controllers). */
  cgroups: CgroupManager | undefined;
  private owner: OwnerClaim | undefined;
  /** PSS/USS of instances, templates, zygotes and the agent; the scheduler's budget reads it. */
  readonly memory: MemoryMonitor;
  /** Swap hearth set up (HEARTH_SWAP_FILE) or found active; undefined without swap. */
  swap: SwapArea | undefined;

  constructor(
    readonly config: HearthConfig,
    readonly log: Logger,
    /** Replaces the start paths (benchmarks run baselines, e.g. a container per instance, behind the same scheduler). */
    startersFor?: (logs: FunctionLogs) => Map<Exclude<StartPath, 'warm'>, InstanceStarter>,
  ) {
    this.metrics = new Metrics();
    this.logs = new FunctionLogs(path.join(config.dataDir, 'logs'));
    this.registry = new Registry({
      dataDir: config.dataDir,
      limits: { maxUnpackedBytes: config.maxUnpackedBytes, maxFiles: config.maxPackageFiles },
      keepVersions: config.keepVersions,
      log,
    });
    const starters = startersFor?.(this.logs) ?? new Map<Exclude<StartPath, 'warm'>, InstanceStarter>();
    if (!startersFor && config.forkPaths) {
      const native = tryLoadNative(log);
      const sandboxLib = config.sandbox ? sandboxLibOrUndefined(log) : undefined;
      // With sandboxes on, the fork paths need the sandbox library (Python's zygote enters sandboxes with it).
      if (native && (!config.sandbox || sandboxLib)) {
        this.templates = new TemplateStarters({
          nodeBinary: config.nodeBinary,
          pythonBinary: config.pythonBinary,
          runtimeDir: config.runtimeDir,
          native: fdPassingFrom(native),
          logs: this.logs,
          log,
          cgroups: () => this.cgroups,
          ...(config.sandbox ? { shells: () => this.shells } : {}),
          spares: config.forkSpares,
          ...(config.imageTier
            ? {
                tier: {
                  store: new ImageStore(path.join(config.dataDir, 'images')),
                  swapAvailable: () => this.swap !== undefined,
                  // Default: 90% of the swap hearth uses (the rest is headroom for instances' own swap-out).
                  diskBudgetMB: () => config.imageDiskBudgetMB || Math.floor(((this.swap?.sizeKB ?? 0) * 0.9) / 1024),
                  idleMs: config.templateIdleMs,
                  metrics: this.metrics,
                  liveInstances: (name: string) => this.scheduler.liveInstances(name),
                  templatePssKB: (pid: number) => this.memory.templatePssKB(pid),
                },
                fallback: () => starters.get('cold'),
              }
            : {}),
          // Python's zygote forks with os.fork() (sandboxed: libhearth_sandbox.so via ctypes); Node.js's with the
          // native addon (node --single-threaded zygotes).
          runtimes: ['python3.11', 'nodejs20'],
          zygoteEnv: {
            'python3.11': { HEARTH_PRELOAD: config.pythonPreload.join(','), ...(sandboxLib ? { HEARTH_SANDBOX_LIB: sandboxLib } : {}) },
            nodejs20: { HEARTH_NATIVE_ADDON: NATIVE_ADDON_PATH },
          },
        });
        starters.set('fork', this.templates.fork);
        starters.set('repurpose', this.templates.repurpose);
        if (this.templates.tier) starters.set('restore', this.templates.restore);
      }
    }
    if (!startersFor && config.sandbox) {
      // The sandboxed starter needs the shell pool, which init() starts.
      starters.set('cold', {
        path: 'cold',
        canStart: () => this.sandboxedCold !== undefined,
        start: (fn) => this.sandboxedCold!.start(fn),
      });
    } else if (!startersFor) {
      starters.set('cold', new ColdStarter({ cgroups: () => this.cgroups, nodeBinary: config.nodeBinary, pythonBinary: config.pythonBinary, runtimeDir: config.runtimeDir, logs: this.logs, initTimeoutMs: 60_000 }));
    }
    // Sources are read lazily: the scheduler and the templates exist by the first sample.
    this.memory = new MemoryMonitor({
      budgetMB: config.memoryBudgetMB,
      intervalMs: config.memorySampleMs,
      onSample: () => this.afterMemorySample(),
      sources: {
        instances: () =>
          [...this.scheduler.accountedInstances(), ...(this.templates?.spareInstances() ?? [])].map((i) => ({ id: i.id, pid: i.proc.accountingPid ?? i.pid, function: i.fn.name, version: i.fn.version })),
        templates: () => (this.templates?.residentTemplates() ?? []).map((t) => ({ pid: t.processPid, function: t.fn.name, version: t.fn.version, runtime: t.fn.manifest.runtime })),
        zygotes: () => [...(this.templates?.zygotes.values() ?? [])].filter((z) => z.alive && z.pid !== undefined).map((z) => ({ pid: z.pid!, runtime: z.runtime })),
      },
    });
    this.scheduler = new Scheduler(
      starters,
      { maxInstances: config.maxInstances, memoryBudgetMB: config.memoryBudgetMB, keepAliveMs: config.keepAliveMs, queueLength: config.queueLength, memoryAccounting: config.memoryAccounting },
      this.metrics,
      log,
      this.memory,
    );
    const tier = this.templates?.tier;
    if (tier) this.scheduler.setReclaimer((needMB, forFunction) => tier.relieve(needMB, 'memory', () => this.reclaimed(), forFunction));
    this.metrics.memoryBudgetBytes.set(config.memoryBudgetMB * 1024 * 1024);
    this.memory.start();
    this.registry.onChange((event) => {
      if (event.kind === 'deployed' && event.version) {
        this.scheduler.retireOldVersions(event.name, event.version.version);
        this.templates?.retire(event.name, event.version.version);
      }
    });
  }

  /**
   * After each periodic memory sample: queued calls may fit now; above the high watermark (90% of
   * the budget) templates are paged out to images down to 80%, before a call has to wait for it;
   * idle templates are demoted and images kept within their disk budget.
   */
  private afterMemorySample(): void {
    this.scheduler.memoryChanged();
    const tier = this.templates?.tier;
    if (!tier) return;
    const usedMB = this.scheduler.memoryUsedMB();
    const budgetMB = this.config.memoryBudgetMB;
    if (usedMB > 0.9 * budgetMB) tier.relieve(usedMB - 0.8 * budgetMB, 'pressure', () => this.reclaimed());
    tier.maintain(() => this.reclaimed());
  }

  /** Templates were demoted: measure now, so that queued calls see the freed memory. */
  private reclaimed(): void {
    void this.memory
      .refreshAsync()
      .then(() => this.scheduler.memoryChanged())
      .catch(() => undefined);
  }

  /**
   * Which tier `name` is in: 'instances' (live instances), 'template' (a resident template to fork
   * from), 'image' (its template paged out), 'none' (its next call starts by repurpose or cold).
   */
  tierOf(name: string): { tier: 'instances' | 'template' | 'image' | 'none'; template?: TierInfo } {
    const template = this.templates?.templateOf(name);
    const info = template ? this.templates?.tier?.describe(template) : undefined;
    const templateTier = template ? (info && info.state !== 'resident' ? 'image' : 'template') : 'none';
    return { tier: this.scheduler.liveInstances(name) > 0 ? 'instances' : templateTier, ...(info ? { template: info } : {}) };
  }

  /** Samples memory now; the report also carries what the scheduler charges against the budget. */
  memoryReport(): NodeMemoryReport {
    const report = this.memory.refresh();
    report.usedMB = Math.round(this.scheduler.memoryUsedMB() * 10) / 10;
    report.accounting = this.config.memoryAccounting;
    return report;
  }

  /** Prepares what needs the host: cgroups (a crashed run's leftovers are removed), swap when configured. */
  async init(): Promise<void> {
    this.swap = await setUpSwap({ spec: this.config.swapFile, dataDir: this.config.dataDir, log: this.log });
    try {
      await this.initHost();
    } catch (error) {
      await this.swap?.close();
      this.swap = undefined;
      throw error;
    }
  }

  private async initHost(): Promise<void> {
    const host = detectCgroupHost();
    if (process.getuid?.() !== 0 || !host.preferred) {
      if (this.config.sandbox) throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `sandboxes need root and cgroups with memory and pids: ${host.problems.join('; ') || 'not root'}`);
      this.log.warn({ problems: host.problems }, 'no usable cgroups: instances run without memory limits or OOM detection');
      return;
    }
    // One root per data directory, so that several hearth servers on a host never touch each other's cgroups.
    const rootName = `hearth-${crypto.createHash('sha256').update(path.resolve(this.config.dataDir)).digest('hex').slice(0, 12)}`;
    const manager = new CgroupManager({ rootName, host });
    const netnsPrefix = `hearth${rootName.slice('hearth-'.length, 'hearth-'.length + 8)}`;
    // Record what this hearth creates (a later hearth removes it if this one dies), then sweep dead hearths' leftovers.
    this.owner = await claimOwnership({ rootName, cgroupRoots: manager.hierarchyRoots(), netnsPrefix, scratchDirs: [path.join('/dev/shm', `${rootName}-shells`)] }, this.config.dataDir, { log: this.log });
    await sweepStale({ log: this.log, skip: [rootName] });
    await manager.start();
    this.cgroups = manager;
    if (this.config.sandbox) {
      assertHost();
      const netns = new NetnsPool({ prefix: netnsPrefix });
      await netns.start();
      const shells = new ShellPool({ cgroups: manager, netns });
      await shells.start();
      this.netns = netns;
      this.shells = shells;
      this.sandboxedCold = new SandboxedColdStarter({ nodeBinary: this.config.nodeBinary, pythonBinary: this.config.pythonBinary, runtimeDir: this.config.runtimeDir, shells, logs: this.logs, initTimeoutMs: 60_000 });
    }
  }

  /** Starts what makes first calls fast: the zygotes. */
  async warmUp(): Promise<void> {
    await this.templates?.startZygotes();
  }

  async deploy(zip: Buffer, manifest?: unknown): Promise<FunctionVersion> {
    const version = await this.registry.deploy({ zip, ...(manifest !== undefined ? { manifest } : {}) });
    this.log.info({ function: version.name, version: version.version }, 'deployed');
    return version;
  }

  async remove(name: string): Promise<void> {
    const versions = await this.registry.remove(name);
    this.templates?.retire(name);
    await this.scheduler.removeFunction(name);
    this.registry.removeCode(versions);
    this.logs.remove(name);
    await this.cgroups?.getGroup(`fn-${name}`)?.remove();
    this.log.info({ function: name }, 'deleted');
  }

  /** Invokes the latest version of `name` with `event` (JSON text). */
  async invoke(name: string, event: string, options: { requestId?: string } = {}): Promise<InvocationResult> {
    if (Buffer.byteLength(event) > this.config.maxPayloadBytes) {
      throw new HearthError('HEARTH_E_PAYLOAD_TOO_LARGE', `request payload is ${Buffer.byteLength(event)} bytes; the limit is ${this.config.maxPayloadBytes}`);
    }
    const fn = this.registry.get(name);
    const result = await this.scheduler.invoke(fn, event, options);
    const outcome = result.outcome;
    this.logs.append(
      name,
      result.requestId,
      'platform',
      `REPORT start=${result.startPath} total=${result.timings.totalMs.toFixed(2)}ms exec=${result.timings.execMs.toFixed(2)}ms init=${result.timings.initMs.toFixed(2)}ms${outcome.ok ? '' : ` error=${outcome.error?.errorType ?? 'unknown'}`}`,
    );
    if (outcome.ok && outcome.payload !== undefined && Buffer.byteLength(outcome.payload) > this.config.maxPayloadBytes) {
      result.outcome = {
        ok: false,
        errorKind: 'handler',
        execMs: outcome.execMs,
        logs: outcome.logs,
        error: { errorType: 'Function.ResponseSizeTooLarge', errorMessage: `Response payload size (${Buffer.byteLength(outcome.payload)} bytes) exceeded maximum allowed payload size (${this.config.maxPayloadBytes} bytes).` },
      };
    }
    return result;
  }

  async close(): Promise<void> {
    this.memory.stop();
    await this.scheduler.close();
    await this.swap?.close();
    await this.shells?.close();
    await this.netns?.close();
    await this.cgroups?.close();
    await this.owner?.release();
    await this.logs.close();
    this.registry.close();
  }
}
