// The paged-out image tier's bookkeeping: which templates are paged out, their
// recorded working sets, and which image a template is (so that a redeploy or a
// runtime upgrade invalidates it). Mechanism only: the policy — when to demote
// an idle template, when to drop one — is src/instances/template-tier.ts.
//
//   demote(key, pid)        MADV_PAGEOUT the template: it stays, its memory goes to swap / is dropped
//   promote(key)            before forking from it: prefetch the recorded working set (MADV_WILLNEED)
//   recordWorkingSet(key, instancePid)
//                           after the first call of an instance forked from a paged-out template:
//                           the pages it has resident are what the next fork will need
//   invalidate(name, keep)  a redeploy: every image of `name` but `keep` is stale
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { pageOut, prefetch, residentPages, type PageOutResult, type WorkingSet } from './pageout.js';
import type { MadviseResult } from '../sandbox/native.js';

export interface ImageIdentity {
  name: string;
  version: number;
  codeSha256: string;
  runtime: string;
  /** The runtime binary's own version (e.g. 'v20.20.2', '3.11.2'): an upgraded runtime makes every image stale. */
  runtimeVersion: string;
}

/** The key of an image: function name, version, code hash, runtime and its version. */
export function imageKey(id: ImageIdentity): string {
  const digest = crypto.createHash('sha256').update(JSON.stringify([id.name, id.version, id.codeSha256, id.runtime, id.runtimeVersion])).digest('hex').slice(0, 16);
  return `${id.name}@${id.version}#${digest}`;
}

const runtimeVersions = new Map<string, { stamp: string; version: string }>();

/**
 * The version a runtime binary reports: `node --version`, `python3 --version`. Cached per
 * binary while the file (resolved through symlinks) keeps its inode, size and mtime: an
 * upgraded runtime is asked again, so its images' keys change and they are stale.
 */
export function runtimeVersionOf(binary: string): string {
  let stamp = '';
  try {
    const st = fs.statSync(fs.realpathSync(binary));
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    // not stat-able: ask it every time (execFileSync reports what is wrong)
  }
  const cached = runtimeVersions.get(binary);
  if (cached && stamp !== '' && cached.stamp === stamp) return cached.version;
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  runtimeVersions.set(binary, { stamp, version: `${version} (${stamp})` });
  return `${version} (${stamp})`;
}

export interface TierOps {
  pageOut(pid: number): PageOutResult;
  prefetch(pid: number, ws: WorkingSet): MadviseResult & { ms: number };
  residentPages(pid: number): WorkingSet;
}

export type TierState = 'resident' | 'paged-out';

export interface TierEntry {
  key: string;
  name: string;
  pid: number;
  state: TierState;
  workingSet?: WorkingSet;
  /** When the entry was last demoted (epoch ms), and what that freed (RSS before − after, KB). */
  demotedAt?: number;
  freedKB?: number;
  demotions: number;
  promotions: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ImageTier {
  private readonly entries = new Map<string, TierEntry>();

  constructor(private readonly ops: TierOps = { pageOut, prefetch, residentPages }) {}

  private entry(key: string, name: string, pid: number): TierEntry {
    let e = this.entries.get(key);
    if (!e || e.pid !== pid) {
      // A new template process for this image: the old working set's addresses may still hold (same
      // zygote, same loads), so it is kept; prefetching a range that is gone is skipped by the kernel call.
      e = { key, name, pid, state: 'resident', demotions: 0, promotions: 0, ...(e?.workingSet ? { workingSet: e.workingSet } : {}) };
      this.entries.set(key, e);
    }
    return e;
  }

  /** Pages the template out (it keeps running; its memory goes to swap or is dropped). */
  demote(key: string, name: string, pid: number): TierEntry & { result: PageOutResult } {
    return this.demoted(key, name, pid, this.ops.pageOut(pid));
  }

  /** Records that the template was paged out (by demote(), or by the caller off the event loop). */
  demoted(key: string, name: string, pid: number, result: PageOutResult): TierEntry & { result: PageOutResult } {
    const e = this.entry(key, name, pid);
    e.state = 'paged-out';
    e.demotedAt = Date.now();
    e.demotions += 1;
    e.freedKB = Math.max(0, (result.before?.rssKB ?? 0) - (result.after?.rssKB ?? 0));
    return { ...e, result };
  }

  /**
   * Before forking from the template: prefetch its working set if it is paged out.
   * undefined when the template is gone (the entry is dropped: make a new template).
   */
  promote(key: string): { prefetched: boolean; ms: number; skippedRanges: number } | undefined {
    const e = this.entries.get(key);
    if (!e) return { prefetched: false, ms: 0, skippedRanges: 0 };
    if (!alive(e.pid)) {
      this.entries.delete(key);
      return undefined;
    }
    if (e.state !== 'paged-out') return { prefetched: false, ms: 0, skippedRanges: 0 };
    e.state = 'resident';
    e.promotions += 1;
    if (!e.workingSet) return { prefetched: false, ms: 0, skippedRanges: 0 };
    const r = this.ops.prefetch(e.pid, e.workingSet);
    return { prefetched: true, ms: r.ms, skippedRanges: r.skippedRanges };
  }

  /** Records the working set from an instance forked from the template, after its first call. */
  recordWorkingSet(key: string, instancePid: number): WorkingSet | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    e.workingSet = this.ops.residentPages(instancePid);
    return e.workingSet;
  }

  /** Uses `ws` (e.g. read back from the image's record) as the working set to prefetch at the next promote. */
  adoptWorkingSet(key: string, ws: WorkingSet): void {
    const e = this.entries.get(key);
    if (e) e.workingSet = ws;
  }

  /** Forgets one image (its template is gone). */
  drop(key: string): void {
    this.entries.delete(key);
  }

  /** True when the template was promoted without a working set (record one from its next instance). */
  wantsWorkingSet(key: string): boolean {
    const e = this.entries.get(key);
    return e !== undefined && e.workingSet === undefined && e.promotions > 0;
  }

  state(key: string): TierState | undefined {
    return this.entries.get(key)?.state;
  }

  get(key: string): TierEntry | undefined {
    return this.entries.get(key);
  }

  /** Images of `name` other than `keepKey` are stale (redeploy, runtime upgrade, deletion): forgets them. */
  invalidate(name: string, keepKey?: string): string[] {
    const removed: string[] = [];
    for (const [key, e] of this.entries) {
      if (e.name === name && key !== keepKey) {
        this.entries.delete(key);
        removed.push(key);
      }
    }
    return removed;
  }

  list(): TierEntry[] {
    return [...this.entries.values()];
  }
}
