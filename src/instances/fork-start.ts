// The fork and repurpose start paths.
//   fork:      template[F] is resident → fork an instance from it.
//   repurpose: no template → the runtime's zygote forks a child that loads F and
//              becomes template[F] (F's init, not the runtime's boot), then fork.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { Runtime } from '../registry/manifest.js';
import type { FunctionVersion } from '../registry/store.js';
import type { FdPassing } from '../zygote/fd-passing.js';
import type { Template } from '../zygote/template.js';
import fs from 'node:fs';
import path from 'node:path';
import type { CgroupManager, InstanceCgroup } from '../sandbox/cgroups.js';
import { instanceSandboxArgs, makeSandboxPlan, SandboxEnterError, templateSeccompRules } from '../sandbox/enter.js';
import type { SandboxShell, ShellPool } from '../sandbox/shell-pool.js';
import { INSTANCE_PIDS_MAX, instanceCgroupFor, type LeasedCgroup } from '../sandbox/instance-cgroup.js';
import { Zygote } from '../zygote/zygote.js';
import type { FunctionLogs } from './function-logs.js';
import { InitError, Instance, type InstanceProcess } from './instance.js';
import { captureOutput } from './output-capture.js';
import type { InstanceStarter, StartedInstance } from './starter.js';
import { TemplateTier, type TemplateTierOptions } from './template-tier.js';
import type { LambdaError } from './protocol.js';

export interface TemplateStartersOptions {
  nodeBinary: string;
  pythonBinary: string;
  runtimeDir: string;
  native: FdPassing;
  logs: FunctionLogs;
  log: Logger;
  /** Runtimes that get a zygote (a runtime without one starts cold). */
  runtimes: Runtime[];
  /** Per-instance cgroups: the forked child moves itself in through an fd the agent opened. */
  cgroups: () => CgroupManager | undefined;
  /**
   * Sandboxes: each template enters a shell from this pool (template mode of the
   * enter-sandbox sequence) and each instance its own mount and pid namespace inside it.
   */
  shells?: () => ShellPool | undefined;
  /**
   * Instances forked ahead of demand per template (Catalyzer's sfork ahead of the
   * request): a call that finds no warm instance takes a spare, which already ran its
   * fork and sandbox entry, and a new spare is forked in the background. 0: none.
   */
  spares?: number;
  zygoteEnv?: Partial<Record<Runtime, Record<string, string>>>;
  /**
   * The image tier (src/instances/template-tier.ts): templates are paged out under memory
   * pressure or when idle, and restored on their next call. Without it templates stay resident.
   */
  tier?: Omit<TemplateTierOptions, 'host' | 'log'> & {
    liveInstances(name: string): number;
    templatePssKB(pid: number): number | undefined;
  };
  /** Where a restore goes when its image fails its check (the cold starter). */
  fallback?: () => InstanceStarter | undefined;
}

const key = (fn: FunctionVersion): string => `${fn.name}@${fn.version}`;

export class TemplateStarters {
  readonly zygotes = new Map<Runtime, Zygote>();
  private readonly templates = new Map<string, Template>();
  /** Spare instances per template, forked ahead of demand (oldest first). */
  private readonly spares = new Map<Template, Array<Promise<StartedInstance | undefined>>>();
  /** The spares that are ready (for memory accounting). */
  private readonly readySpares = new Set<Instance>();
  /** The shell each sandboxed template lives in (purged once the template is gone). */
  private readonly shellOf = new Map<Template, SandboxShell>();
  private readonly creating = new Map<string, Promise<Template>>();
  readonly fork: InstanceStarter;
  readonly repurpose: InstanceStarter;
  readonly restore: InstanceStarter;
  readonly tier: TemplateTier | undefined;

  constructor(private readonly options: TemplateStartersOptions) {
    for (const runtime of options.runtimes) {
      this.zygotes.set(runtime, new Zygote({ runtime, nodeBinary: options.nodeBinary, pythonBinary: options.pythonBinary, runtimeDir: options.runtimeDir, native: options.native, env: options.zygoteEnv?.[runtime] ?? {}, log: options.log }));
    }
    const tier = options.tier;
    this.tier = tier
      ? new TemplateTier({
          ...tier,
          log: options.log,
          host: {
            templates: () => this.residentTemplates(),
            dropSpares: (template) => this.dropSpares(template),
            evict: (template) => this.evict(template),
            liveInstances: tier.liveInstances,
            templatePssKB: tier.templatePssKB,
            runtimeBinary: (fn) => (fn.manifest.runtime === 'nodejs20' ? options.nodeBinary : options.pythonBinary),
          },
        })
      : undefined;
    const templateIn = (fn: FunctionVersion, state: 'resident' | 'image'): Template | undefined => {
      const template = this.templates.get(key(fn));
      if (!template?.alive || !this.forkable(fn)) return undefined;
      const s = this.tier?.state(template) ?? 'resident';
      return (state === 'resident') === (s === 'resident') ? template : undefined;
    };
    this.fork = {
      path: 'fork',
      canStart: (fn) => templateIn(fn, 'resident') !== undefined,
      start: async (fn) => {
        // The template may have died (or been demoted) since canStart(): take the path that fits now.
        const template = this.templates.get(key(fn));
        if (!template?.alive) return { path: 'repurpose', ...(await this.repurpose.start(fn)) };
        if (this.tier && this.tier.state(template) !== 'resident') return { path: 'restore', ...(await this.restore.start(fn)) };
        this.tier?.used(template);
        const spare = await this.takeSpare(template);
        if (spare) return spare;
        const started = await this.forkInstance(template, 'fork', { processMs: 0, initMs: 0 });
        this.refillSpares(template);
        return started;
      },
    };
    this.restore = {
      path: 'restore',
      canStart: (fn) => templateIn(fn, 'image') !== undefined,
      start: async (fn) => {
        const template = this.templates.get(key(fn));
        if (!template?.alive || !this.tier) return { path: 'repurpose', ...(await this.repurpose.start(fn)) };
        const t0 = performance.now();
        try {
          await this.tier.restore(template);
        } catch (error) {
          const cold = this.options.fallback?.();
          if (!cold) throw error;
          return { ...(await cold.start(fn)), path: cold.path };
        }
        this.tier.used(template);
        const restoreMs = performance.now() - t0;
        const started = await this.forkInstance(template, 'restore', { processMs: restoreMs, initMs: 0 });
        if (this.tier.wantsWorkingSet(template)) {
          const pid = started.instance.proc.accountingPid ?? started.instance.pid;
          started.instance.once('finished', () => this.tier?.recordWorkingSet(template, pid));
        }
        this.refillSpares(template);
        return started;
      },
    };
    this.repurpose = {
      path: 'repurpose',
      canStart: (fn) => this.zygotes.has(fn.manifest.runtime) && this.forkable(fn),
      start: async (fn) => {
        const t0 = performance.now();
        const template = await this.templateFor(fn);
        const templateMs = performance.now() - t0;
        const started = await this.forkInstance(template, 'repurpose', { processMs: Math.max(0, templateMs - template.initMs), initMs: template.initMs });
        // After the call's own fork, not before: the template forks one at a time.
        this.refillSpares(template);
        return started;
      },
      close: () => this.close(),
    };
  }

  /**
   * Sandboxed forked instances get a network namespace of their own with only lo;
   * egress needs a pooled, wired namespace per instance, which only the cold path
   * has today: functions with egress start cold.
   */
  private forkable(fn: FunctionVersion): boolean {
    return !(this.options.shells?.() && fn.manifest.network === 'egress');
  }

  /** Starts the zygotes now, so that the first repurpose does not pay for a runtime boot. */
  async startZygotes(): Promise<void> {
    await Promise.all([...this.zygotes.values()].map((z) => z.ensureStarted()));
  }

  /** template[fn], creating it through the zygote when it is not resident (one creation at a time per version). */
  templateFor(fn: FunctionVersion): Promise<Template> {
    const existing = this.templates.get(key(fn));
    if (existing?.alive) return Promise.resolve(existing);
    let pending = this.creating.get(key(fn));
    if (!pending) {
      pending = this.createTemplate(fn).finally(() => this.creating.delete(key(fn)));
      this.creating.set(key(fn), pending);
    }
    return pending;
  }

  /** The template's sandbox: a pooled shell, the plan for the template, the instances' options. */
  private async sandboxFor(fn: FunctionVersion): Promise<{ shell: SandboxShell; plan: ReturnType<typeof makeSandboxPlan>; instanceArgs: string[] } | undefined> {
    const shells = this.options.shells?.();
    if (!shells) return undefined;
    const shell = await shells.acquire({ netKind: fn.manifest.network, memoryMB: fn.manifest.memoryMB, pidsMax: INSTANCE_PIDS_MAX });
    const binary = fn.manifest.runtime === 'nodejs20' ? this.options.nodeBinary : this.options.pythonBinary;
    const plan = {
      ...makeSandboxPlan({
        codeDir: fn.codeDir,
        ids: shell.ids,
        netnsPath: shell.netns.path,
        cgroup: shell.templateCgroup.target(),
        hostname: fn.name.toLowerCase().slice(0, 63),
        // Runtimes installed outside /usr (the base every sandbox gets) are added read-only.
        extraReadonly: [path.dirname(binary)].filter((dir) => !dir.startsWith('/usr/')),
      }),
      templateCaps: true,
      seccomp: templateSeccompRules(),
    };
    fs.mkdirSync(plan.rootfsDir, { recursive: true, mode: 0o755 });
    return { shell, plan, instanceArgs: instanceSandboxArgs() };
  }

  private async createTemplate(fn: FunctionVersion): Promise<Template> {
    const t0 = performance.now();
    const zygote = this.zygotes.get(fn.manifest.runtime)!;
    const sandbox = await this.sandboxFor(fn);
    let template: Template;
    try {
      template = await zygote.spawnTemplate(fn, sandbox);
    } catch (error) {
      if (sandbox) await this.options.shells?.()?.purge(sandbox.shell);
      if (error instanceof SandboxEnterError) {
        throw new InitError({ errorType: 'Sandbox.SetupError', errorMessage: `the sandbox could not be set up: step ${error.step} (${error.errno})` }, 'crash');
      }
      throw error;
    }
    if (sandbox) {
      this.shellOf.set(template, sandbox.shell);
      // The shell goes back to the pool (purged: every process killed, cgroups renewed) once the template is gone.
      template.onClose(() => {
        this.shellOf.delete(template);
        void this.options.shells?.()?.purge(sandbox.shell).catch((error: Error) => this.options.log.warn({ err: error.message }, 'shell purge failed'));
      });
    }
    for (const [name, stream] of [['stdout', template.stdout], ['stderr', template.stderr]] as const) {
      captureOutput(stream, { line: (text) => this.options.logs.append(fn.name, undefined, name, `[template] ${text}`), end: () => undefined });
    }
    try {
      await template.readyPromise;
    } catch (error) {
      template.destroy();
      const lambdaError = (error as { lambdaError?: LambdaError }).lambdaError;
      throw new InitError(lambdaError ?? { errorType: 'Runtime.ExitError', errorMessage: `template failed to start: ${(error as Error).message}` });
    }
    this.templates.get(key(fn))?.destroy();
    this.templates.set(key(fn), template);
    template.onClose(() => void this.dropSpares(template));
    this.tier?.created(template, performance.now() - t0);
    this.options.log.debug({ function: fn.name, version: fn.version, pid: template.pid, initMs: template.initMs }, 'template ready');
    return template;
  }

  private async forkInstance(template: Template, path: 'fork' | 'repurpose' | 'restore', spent: { processMs: number; initMs: number }): Promise<StartedInstance> {
    const t0 = performance.now();
    const leaf = this.leafFor(template);
    const tLeaf = performance.now();
    let forked: Awaited<ReturnType<Template['fork']>>;
    try {
      // The child writes "0" to each cgroup.procs fd before anything else runs in it.
      const procsFds = (leaf?.cgroup.target().procsFiles ?? []).map((file) => fs.openSync(file, 'w'));
      forked = await template.fork(procsFds);
    } catch (error) {
      await leaf?.release();
      throw error;
    }
    const proc: InstanceProcess = {
      pid: forked.pid,
      kill: (signal) => {
        try {
          process.kill(forked.pid, signal);
        } catch {
          // already gone
        }
      },
      exited: forked.exited,
      stdout: forked.stdout,
      stderr: forked.stderr,
      ...(leaf ? { wasOomKilled: () => leaf.cgroup.outOfMemory(), cleanup: () => leaf.release() } : {}),
    };
    const tForked = performance.now();
    const instance = new Instance(template.fn, path, proc, forked.channel, this.options.logs);
    await instance.waitReady(10_000);
    const tReady = performance.now();
    this.options.log.debug({ function: template.fn.name, leafMs: tLeaf - t0, forkMs: tForked - tLeaf, readyMs: tReady - tForked }, 'instance forked');
    // sandbox: the instance's own cgroup; process: fork, the instance's sandbox entry, ready.
    return { instance, timings: { sandboxMs: tLeaf - t0, processMs: spent.processMs + (tReady - tLeaf), initMs: spent.initMs } };
  }

  /** Forks spares up to the configured number (in the background; a failure only means no spare). */
  private refillSpares(template: Template): void {
    // Not for a template being paged out or paged out: a spare would share (and so pin) its pages.
    if (this.tier && this.tier.state(template) !== 'resident') return;
    const wanted = this.options.spares ?? 0;
    const list = this.spares.get(template) ?? [];
    this.spares.set(template, list);
    while (template.alive && list.length < wanted) {
      const spare = this.forkInstance(template, 'fork', { processMs: 0, initMs: 0 }).then(
        (started) => {
          this.readySpares.add(started.instance);
          void started.instance.gone.then(() => this.readySpares.delete(started.instance));
          return started;
        },
        (error: Error) => {
          this.options.log.debug({ function: template.fn.name, err: error.message }, 'spare fork failed');
          return undefined;
        },
      );
      list.push(spare);
    }
  }

  /** A spare that is alive (it started before the call: no start time is charged to it), and a new one forked. */
  private async takeSpare(template: Template): Promise<StartedInstance | undefined> {
    const list = this.spares.get(template);
    while (list && list.length > 0) {
      const spare = await list.shift()!;
      if (spare) this.readySpares.delete(spare.instance);
      // Not now: the next spare's leaf cgroup and fork request would delay this call.
      setImmediate(() => this.refillSpares(template));
      if (spare && !spare.instance.exited) return { instance: spare.instance, timings: { sandboxMs: 0, processMs: 0, initMs: 0 } };
    }
    return undefined;
  }

  /**
   * Kills the template's spares (when the template is gone they die with it: pid namespace,
   * parent-death signal; make sure) and resolves once they have exited.
   */
  private async dropSpares(template: Template): Promise<void> {
    const list = this.spares.get(template) ?? [];
    this.spares.delete(template);
    await Promise.all(
      list.map(async (spare) => {
        const s = await spare;
        if (!s) return;
        this.readySpares.delete(s.instance);
        s.instance.kill();
        await s.instance.gone;
      }),
    );
  }

  /** Drops a template for good (the image tier's eviction). */
  private evict(template: Template): void {
    template.destroy();
    if (this.templates.get(key(template.fn)) === template) this.templates.delete(key(template.fn));
  }

  /** Spare instances (forked ahead of demand, not yet serving), for memory accounting. */
  spareInstances(): Instance[] {
    return [...this.readySpares].filter((i) => !i.exited);
  }

  /** The instance's own cgroup: inside the template's shell when sandboxed, else in the function's group. */
  private leafFor(template: Template): LeasedCgroup | undefined {
    const shell = this.shellOf.get(template);
    if (!shell) return instanceCgroupFor(this.options.cgroups(), template.fn);
    const cgroup: InstanceCgroup = shell.createInstanceCgroup(`i-${crypto.randomBytes(5).toString('hex')}`);
    return { cgroup, release: () => shell.cgroup.removeInstance(cgroup) };
  }

  /** Templates of older versions of `name` (or all of `name` when deleted) are no longer needed. */
  retire(name: string, keepVersion?: number): void {
    for (const [k, template] of this.templates) {
      if (template.fn.name === name && template.fn.version !== keepVersion) {
        template.destroy();
        this.templates.delete(k);
      }
    }
  }

  /** The live template of `name` (its latest version's), if any. */
  templateOf(name: string): Template | undefined {
    let found: Template | undefined;
    for (const t of this.templates.values()) if (t.alive && t.fn.name === name && (!found || t.fn.version > found.fn.version)) found = t;
    return found;
  }

  /** Live templates, resident or paged out (for `hearth ls`, metrics and the memory budget). */
  residentTemplates(): Template[] {
    return [...this.templates.values()].filter((t) => t.alive);
  }

  async close(): Promise<void> {
    for (const template of this.templates.values()) template.destroy();
    this.templates.clear();
    await Promise.all([...this.zygotes.values()].map((z) => z.stop()));
  }
}
