// Keep-alive value per MB, after FaasCache's Greedy-Dual-Size-Frequency: what a
// kept template is worth is how often its function is called times what a start
// without it costs, per MB it occupies. The victim under pressure is the entry with
// the lowest priority
//
//   priority = clock + frequency × costMs / sizeMB
//
// and evicting it advances the clock to its priority, so entries that are not
// touched age relative to newly touched ones (recency) without a fixed TTL.
// Pure bookkeeping: which entries exist and what eviction does to them is the
// caller's (src/instances/fork-start.ts).

export interface GreedyDualEntry {
  key: string;
  /** Calls served from this entry (plus the one that created it). */
  frequency: number;
  /** What a start without it costs, in ms (for a template: creating it, i.e. runtime fork + the function's init). */
  costMs: number;
  /** What it occupies, in MB (measured PSS; at least 1). */
  sizeMB: number;
  priority: number;
  /** Date.now() of the last touch. */
  lastUsed: number;
}

export class GreedyDual {
  private clock = 0;
  private readonly entries = new Map<string, GreedyDualEntry>();

  private value(e: Pick<GreedyDualEntry, 'frequency' | 'costMs' | 'sizeMB'>): number {
    return this.clock + (e.frequency * Math.max(e.costMs, 0.001)) / Math.max(e.sizeMB, 1);
  }

  /** A call was served from `key` (or `key` was created): its frequency and priority go up. */
  touch(key: string, costMs?: number, sizeMB?: number): GreedyDualEntry {
    const e = this.entries.get(key) ?? { key, frequency: 0, costMs: costMs ?? 1, sizeMB: sizeMB ?? 1, priority: 0, lastUsed: 0 };
    e.frequency += 1;
    if (costMs !== undefined) e.costMs = costMs;
    if (sizeMB !== undefined) e.sizeMB = Math.max(sizeMB, 1);
    e.lastUsed = Date.now();
    e.priority = this.value(e);
    this.entries.set(key, e);
    return e;
  }

  get(key: string): GreedyDualEntry | undefined {
    return this.entries.get(key);
  }

  /** The lowest-priority entry among `candidates` (ties: least recently used). */
  victim(candidates: Iterable<string>): GreedyDualEntry | undefined {
    let best: GreedyDualEntry | undefined;
    for (const key of candidates) {
      const e = this.entries.get(key);
      if (!e) continue;
      if (!best || e.priority < best.priority || (e.priority === best.priority && e.lastUsed < best.lastUsed)) best = e;
    }
    return best;
  }

  /** `key` was evicted from the tier this policy ranks: the clock advances to its priority. */
  evicted(key: string): void {
    const e = this.entries.get(key);
    if (e) this.clock = Math.max(this.clock, e.priority);
  }

  /** `key` is gone for good (redeploy, deletion): forgotten, the clock unchanged. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  get currentClock(): number {
    return this.clock;
  }
}
