// The image tier's policy: which templates stay resident, which are paged out to
// images, which images are dropped. The mechanism is src/memory/ (pageout,
// ImageTier, ImageStore); the templates themselves are TemplateStarters'.
//
//   resident template ──demote──▶ image (paged out to swap + a checksummed record)
//          ▲                          │
//          └──────── restore ─────────┘  (record checked, working set prefetched, fork)
//
// Under memory pressure (the scheduler cannot fit an instance, or usage crosses
// the high watermark) templates are demoted lowest keep-alive value per MB first
// (GreedyDual: frequency × creation cost / PSS, aged by a clock), never one whose
// function has live instances (they share its pages, so paging it out frees
// little). Templates unused for idleMs are demoted too. Without swap a demotion
// would free only file pages, so the template is dropped instead. Images are
// dropped lowest value first when their swap plus records exceed the disk budget.
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { GreedyDual } from '../memory/greedy-dual.js';
import { ImageRecordError, ImageStore, processStartTicks } from '../memory/image-store.js';
import { pageOutAsync } from '../memory/pageout-async.js';
import type { PageOutResult } from '../memory/pageout.js';
import { ImageTier, imageKey, runtimeVersionOf, type TierOps } from '../memory/tier.js';
import type { FunctionVersion } from '../registry/store.js';
import type { Template } from '../zygote/template.js';

export type TemplateState = 'resident' | 'demoting' | 'paged-out';

/** What the tier needs from TemplateStarters and the rest of hearth. */
export interface TierHost {
  /** Live templates. */
  templates(): Template[];
  /** Kills the template's spare instances and resolves once they are gone (shared pages would not page out). */
  dropSpares(template: Template): Promise<void>;
  /** Destroys the template for good. */
  evict(template: Template): void;
  /** Live (idle, busy or starting) instances of `name`, spares not counted. */
  liveInstances(name: string): number;
  /** The template process's last measured PSS in KB, if measured. */
  templatePssKB(pid: number): number | undefined;
  /** The runtime binary of a function (its version is part of the image's identity). */
  runtimeBinary(fn: FunctionVersion): string;
}

export interface TemplateTierOptions {
  host: TierHost;
  store: ImageStore;
  /** Whether there is swap to page anonymous memory out to (checked per decision: swap can come and go). */
  swapAvailable: () => boolean;
  /** Disk for images (their swap + records) in MB, read per decision; 0 = no limit besides swap itself. */
  diskBudgetMB: () => number;
  /** Templates unused this long are demoted (0 = only under pressure). */
  idleMs: number;
  metrics: Metrics;
  log: Logger;
  ops?: TierOps;
  /** How a template is paged out (default: in a worker thread, off the event loop). */
  pageOut?: (pid: number) => Promise<PageOutResult>;
}

interface Entry {
  /** The image key and runtime version the template was made with (fixed for its life; a restore compares them with now's). */
  key: string;
  runtimeVersion: string;
  state: TemplateState;
  demoting?: Promise<void>;
  /** KB the running demotion is expected to free (for decisions taken before the next sample). */
  freeingKB: number;
}

export interface TierInfo {
  state: TemplateState;
  pid: number;
  lastUsed: string;
  /** Swap the paged-out template holds, and its record, in bytes. */
  diskBytes: number;
  workingSetBytes?: number;
  demotions: number;
  restores: number;
  /** GreedyDual keep-alive value (higher stays longer). */
  value: number;
}

function vmSwapKB(pid: number): number {
  try {
    const m = /^VmSwap:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export class TemplateTier {
  private readonly entries = new Map<Template, Entry>();
  private readonly mechanism: ImageTier;
  /** Keep-alive value of resident templates, and of images. */
  private readonly templateValue = new GreedyDual();
  private readonly imageValue = new GreedyDual();
  private readonly pageOut: (pid: number) => Promise<PageOutResult>;

  constructor(private readonly o: TemplateTierOptions) {
    this.mechanism = new ImageTier(o.ops);
    this.pageOut = o.pageOut ?? pageOutAsync;
    // A previous hearth's records describe processes that died with it.
    o.store.clear();
  }

  /** The image key of `fn` with the runtime as installed now. */
  private keyNow(fn: FunctionVersion): { key: string; runtimeVersion: string } {
    const runtimeVersion = runtimeVersionOf(this.o.host.runtimeBinary(fn));
    return { key: imageKey({ name: fn.name, version: fn.version, codeSha256: fn.codeSha256, runtime: fn.manifest.runtime, runtimeVersion }), runtimeVersion };
  }

  private entry(template: Template): Entry {
    let e = this.entries.get(template);
    if (!e) {
      e = { ...this.keyNow(template.fn), state: 'resident', freeingKB: 0 };
      this.entries.set(template, e);
    }
    return e;
  }

  /** Date.now() of the last call served from the template (or of its creation). */
  private lastUsed(e: Entry): number {
    return this.templateValue.get(e.key)?.lastUsed ?? 0;
  }

  /** Among `templates`, the one with the lowest value in `gd` (undefined when there is none). */
  private lowestValue(gd: GreedyDual, templates: Template[]): Template | undefined {
    const byKey = new Map(templates.map((t) => [this.entry(t).key, t]));
    const victim = gd.victim(byKey.keys());
    return victim ? byKey.get(victim.key) : undefined;
  }

  /** Drops a template (or image) for good, counted and logged. */
  private drop(template: Template, tier: 'template' | 'image', reason: string, message: string, fields: Record<string, unknown> = {}): void {
    this.o.metrics.templateEvictions.inc({ tier, reason });
    this.o.log.info({ function: template.fn.name, version: template.fn.version, ...fields }, message);
    this.o.host.evict(template);
  }

  private sizeMB(template: Template): number {
    return (this.o.host.templatePssKB(template.processPid) ?? template.fn.manifest.memoryMB * 1024) / 1024;
  }

  /** A template was created: what it cost (the zygote fork and the function's init, ms) is what keeping it saves. */
  created(template: Template, costMs: number): void {
    const k = this.entry(template).key;
    this.templateValue.touch(k, costMs, this.sizeMB(template));
    this.imageValue.touch(k, costMs, 1);
    template.onClose(() => this.forget(template));
  }

  /** A call was served from the template (fork or restore). */
  used(template: Template): void {
    const k = this.entry(template).key;
    this.templateValue.touch(k, undefined, this.sizeMB(template));
    this.imageValue.touch(k);
  }

  state(template: Template): TemplateState {
    return this.entries.get(template)?.state ?? 'resident';
  }

  private forget(template: Template): void {
    const e = this.entries.get(template);
    this.entries.delete(template);
    if (!e) return;
    this.o.store.remove(template.fn.name, template.fn.version);
    this.mechanism.drop(e.key);
    this.templateValue.forget(e.key);
    this.imageValue.forget(e.key);
  }

  /** Pages the template out to an image. Resolves once it is paged out (or was dropped instead, without swap). */
  demote(template: Template, reason: 'memory' | 'pressure' | 'idle'): Promise<void> {
    const e = this.entry(template);
    if (e.state !== 'resident') return e.demoting ?? Promise.resolve();
    if (!this.o.swapAvailable()) {
      // Paging out without swap frees only file pages: drop the template (its function starts by repurpose next).
      this.templateValue.evicted(e.key);
      this.drop(template, 'template', 'memory', 'template dropped (no swap for an image)', { reason });
      return Promise.resolve();
    }
    e.state = 'demoting';
    e.freeingKB = (this.o.host.templatePssKB(template.processPid) ?? 0) * 0.9;
    e.demoting = this.demoteNow(template, e, reason).finally(() => {
      e.demoting = undefined;
      e.freeingKB = 0;
    });
    return e.demoting;
  }

  private async demoteNow(template: Template, e: Entry, reason: 'memory' | 'pressure' | 'idle'): Promise<void> {
    await this.o.host.dropSpares(template);
    if (!template.alive) return;
    const k = e.key;
    const pid = template.processPid;
    try {
      const done = this.mechanism.demoted(k, template.fn.name, pid, await this.pageOut(pid));
      const startTicks = processStartTicks(pid);
      if (startTicks === undefined) throw new Error(`template process ${pid} is gone`);
      const ws = done.workingSet;
      this.o.store.write({
        key: k,
        name: template.fn.name,
        version: template.fn.version,
        runtime: template.fn.manifest.runtime,
        runtimeVersion: e.runtimeVersion,
        codeSha256: template.fn.codeSha256,
        pid,
        pidStartTicks: startTicks,
        demotedAt: Date.now(),
        ...(ws ? { workingSet: { ranges: ws.ranges, pages: ws.pages, bytes: ws.bytes } } : {}),
      });
      e.state = 'paged-out';
      this.templateValue.evicted(k);
      this.o.metrics.templateDemotions.inc({ reason });
      this.o.log.info({ function: template.fn.name, version: template.fn.version, reason, pageoutMs: Math.round(done.result.ms), rssBeforeKB: done.result.before?.rssKB, rssAfterKB: done.result.after?.rssKB }, 'template paged out to an image');
    } catch (error) {
      // A template that cannot be paged out is dropped: its memory must be freed either way.
      e.state = 'resident';
      this.drop(template, 'template', 'memory', 'paging out a template failed; dropping it', { err: (error as Error).message });
    }
  }

  /**
   * Makes the paged-out template ready to fork: checks its record (checksum, function and
   * runtime version, same process) and prefetches its working set. Throws ImageRecordError
   * when the image must not be used (the template is dropped; the caller starts cold).
   */
  async restore(template: Template): Promise<void> {
    const e = this.entry(template);
    if (e.demoting) await e.demoting;
    if (e.state !== 'paged-out') return;
    const k = e.key;
    try {
      // Checked against the key as of now: a runtime upgraded since the demotion makes the record stale.
      const record = this.o.store.read(template.fn.name, template.fn.version, { key: this.keyNow(template.fn).key, pid: template.processPid });
      // The record is the source of truth for what to prefetch (it is what the checksum covers).
      if (record.workingSet) this.mechanism.adoptWorkingSet(k, record.workingSet);
    } catch (error) {
      if (!(error instanceof ImageRecordError)) throw error;
      this.o.metrics.imageRestores.inc({ outcome: error.reason });
      this.drop(template, 'image', error.reason === 'stale' ? 'stale' : 'corrupt', 'image failed its check: dropping it and starting cold', { reason: error.reason, err: error.message });
      throw error;
    }
    const promoted = this.mechanism.promote(k);
    this.o.store.remove(template.fn.name, template.fn.version);
    e.state = 'resident';
    this.imageValue.touch(k);
    this.o.metrics.imageRestores.inc({ outcome: 'ok' });
    this.o.log.debug({ function: template.fn.name, prefetched: promoted?.prefetched, prefetchMs: promoted?.ms }, 'template restored from its image');
  }

  /** After the first call of an instance restored without a working set: record what it touched (REAP). */
  wantsWorkingSet(template: Template): boolean {
    return this.mechanism.wantsWorkingSet(this.entry(template).key);
  }

  recordWorkingSet(template: Template, instancePid: number): void {
    try {
      const ws = this.mechanism.recordWorkingSet(this.entry(template).key, instancePid);
      if (ws) this.o.log.debug({ function: template.fn.name, pages: ws.pages }, 'working set recorded');
    } catch (error) {
      this.o.log.debug({ function: template.fn.name, err: (error as Error).message }, 'working set not recorded');
    }
  }

  /** KB being freed by demotions in progress (not yet visible in a memory sample). */
  freeingKB(): number {
    let kb = 0;
    for (const e of this.entries.values()) kb += e.freeingKB;
    return kb;
  }

  /**
   * Frees about `needMB` by demoting resident templates, lowest keep-alive value per MB first.
   * Returns the MB expected to be freed (0: nothing could be demoted); `onDone` runs when the demotions finish.
   */
  relieve(needMB: number, reason: 'memory' | 'pressure', onDone: () => void, except?: string): number {
    let plannedKB = this.freeingKB();
    const wantKB = needMB * 1024;
    if (plannedKB >= wantKB) return plannedKB / 1024;
    let candidates = this.o.host.templates().filter((t) => this.state(t) === 'resident' && t.fn.name !== except && this.o.host.liveInstances(t.fn.name) === 0);
    const pending: Array<Promise<void>> = [];
    while (plannedKB < wantKB) {
      const template = this.lowestValue(this.templateValue, candidates);
      if (!template) break;
      candidates = candidates.filter((t) => t !== template);
      plannedKB += (this.o.host.templatePssKB(template.processPid) ?? template.fn.manifest.memoryMB * 1024) * 0.9;
      pending.push(this.demote(template, reason));
    }
    if (pending.length === 0) return 0;
    void Promise.allSettled(pending).then(onDone);
    return plannedKB / 1024;
  }

  /** Periodic upkeep: demote idle templates, keep images within the disk budget. */
  maintain(onDone: () => void): void {
    const now = Date.now();
    const pending: Array<Promise<void>> = [];
    if (this.o.idleMs > 0 && this.o.swapAvailable()) {
      for (const t of this.o.host.templates()) {
        const e = this.entry(t);
        if (e.state === 'resident' && now - this.lastUsed(e) >= this.o.idleMs && this.o.host.liveInstances(t.fn.name) === 0) pending.push(this.demote(t, 'idle'));
      }
    }
    const diskBudgetMB = this.o.diskBudgetMB();
    if (diskBudgetMB > 0) {
      let images = this.o.host.templates().filter((t) => this.state(t) === 'paged-out');
      const diskOf = new Map(images.map((t) => [t, this.diskKB(t)]));
      let diskKB = [...diskOf.values()].reduce((a, b) => a + b, 0);
      while (diskKB > diskBudgetMB * 1024) {
        const template = this.lowestValue(this.imageValue, images);
        if (!template) break;
        images = images.filter((t) => t !== template);
        diskKB -= diskOf.get(template)!;
        this.imageValue.evicted(this.entry(template).key);
        this.drop(template, 'image', 'disk', 'image dropped (disk budget)');
      }
    }
    if (pending.length > 0) void Promise.allSettled(pending).then(onDone);
  }

  private diskKB(template: Template): number {
    return vmSwapKB(template.processPid) + this.o.store.sizeBytes(template.fn.name, template.fn.version) / 1024;
  }

  /** The tier state of a template, for the API and metrics. */
  describe(template: Template): TierInfo {
    const e = this.entry(template);
    const k = e.key;
    const m = this.mechanism.get(k);
    const value = (e.state === 'resident' ? this.templateValue : this.imageValue).get(k)?.priority ?? 0;
    return {
      state: e.state,
      pid: template.processPid,
      lastUsed: new Date(this.lastUsed(e)).toISOString(),
      diskBytes: e.state === 'resident' ? 0 : Math.round(this.diskKB(template) * 1024),
      ...(m?.workingSet ? { workingSetBytes: m.workingSet.bytes } : {}),
      demotions: m?.demotions ?? 0,
      restores: m?.promotions ?? 0,
      value: Math.round(value * 1000) / 1000,
    };
  }

  /** Disk held by all images, in bytes. */
  diskBytes(): number {
    let kb = 0;
    for (const t of this.o.host.templates()) if (this.state(t) !== 'resident') kb += this.diskKB(t);
    return Math.round(kb * 1024);
  }
}
