// Memory accounting from /proc/<pid>/smaps_rollup: RSS, PSS (shared pages divided
// among the processes that map them), USS (private pages: what killing the process
// frees), swap. One read per pid; cost measured in bench/results/image-tier.md
// ("smaps_rollup cost") — tens of microseconds for a runtime process, so a few
// dozen pids every few seconds are cheap.
import fs from 'node:fs';

export interface MemorySample {
  pid: number;
  rssKB: number;
  pssKB: number;
  /** Private_Clean + Private_Dirty. */
  ussKB: number;
  swapKB: number;
  swapPssKB: number;
}

const FIELDS: Record<string, keyof Omit<MemorySample, 'pid' | 'ussKB'> | 'privateClean' | 'privateDirty'> = {
  Rss: 'rssKB',
  Pss: 'pssKB',
  Private_Clean: 'privateClean',
  Private_Dirty: 'privateDirty',
  Swap: 'swapKB',
  SwapPss: 'swapPssKB',
};

/** Parses the text of a smaps_rollup file. */
export function parseSmapsRollup(pid: number, text: string): MemorySample {
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const field = FIELDS[line.slice(0, colon)];
    if (!field) continue;
    values[field] = Number.parseInt(line.slice(colon + 1), 10) || 0;
  }
  return {
    pid,
    rssKB: values.rssKB ?? 0,
    pssKB: values.pssKB ?? 0,
    ussKB: (values.privateClean ?? 0) + (values.privateDirty ?? 0),
    swapKB: values.swapKB ?? 0,
    swapPssKB: values.swapPssKB ?? 0,
  };
}

/** One process's memory; undefined when it is gone (or not readable). */
export function readSmapsRollup(pid: number): MemorySample | undefined {
  if (!(pid > 0)) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
  return parseSmapsRollup(pid, text);
}

/** Samples of several pids (gone ones are left out). */
export function sampleAll(pids: Iterable<number>): Map<number, MemorySample> {
  const result = new Map<number, MemorySample>();
  for (const pid of new Set(pids)) {
    const sample = readSmapsRollup(pid);
    if (sample) result.set(pid, sample);
  }
  return result;
}

/** sampleAll() off the event loop: the reads run on libuv's thread pool (for the periodic sample of many pids). */
export async function sampleAllAsync(pids: Iterable<number>): Promise<Map<number, MemorySample>> {
  const unique = [...new Set(pids)].filter((pid) => pid > 0);
  const texts = await Promise.all(unique.map((pid) => fs.promises.readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => undefined)));
  const result = new Map<number, MemorySample>();
  unique.forEach((pid, i) => {
    const text = texts[i];
    if (text !== undefined) result.set(pid, parseSmapsRollup(pid, text));
  });
  return result;
}

export interface MemoryTotals {
  count: number;
  rssKB: number;
  pssKB: number;
  ussKB: number;
  swapKB: number;
  swapPssKB: number;
}

export function emptyTotals(): MemoryTotals {
  return { count: 0, rssKB: 0, pssKB: 0, ussKB: 0, swapKB: 0, swapPssKB: 0 };
}

export function addSample(totals: MemoryTotals, s: MemorySample | undefined): MemoryTotals {
  if (!s) return totals;
  totals.count += 1;
  totals.rssKB += s.rssKB;
  totals.pssKB += s.pssKB;
  totals.ussKB += s.ussKB;
  totals.swapKB += s.swapKB;
  totals.swapPssKB += s.swapPssKB;
  return totals;
}
