// The paged-out image tier's mechanism: a template is kept (its process, its
// address space) but its memory is reclaimed with process_madvise(MADV_PAGEOUT):
// anonymous pages go to swap, private file pages are dropped. Forking from it
// then faults pages back in. A REAP-style working set — the pages the first
// invocation of a forked instance touched, read from that instance's
// /proc/<pid>/pagemap — is prefetched into the template with MADV_WILLNEED
// (swap-in and file readahead, asynchronous) before the next fork, so the
// instance's faults become minor ones.
import fs from 'node:fs';
import { loadNative, type MadviseResult } from '../sandbox/native.js';
import { readSmapsRollup, type MemorySample } from './pss.js';

const PAGE = 4096;
const PRESENT = 1n << 63n;
const SWAPPED = 1n << 62n;

export interface Mapping {
  start: number;
  end: number;
  perms: string;
  name: string;
}

/** /proc/<pid>/maps, parsed. */
export function readMaps(pid: number): Mapping[] {
  return fs
    .readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [range, perms, , , , ...rest] = line.split(/\s+/);
      const [start, end] = range!.split('-').map((h) => Number.parseInt(h, 16));
      return { start: start!, end: end!, perms: perms!, name: rest.join(' ') };
    });
}

export interface PageOutResult extends MadviseResult {
  before: MemorySample | undefined;
  after: MemorySample | undefined;
  ms: number;
}

/** Pages out every mapping of `pid` (MADV_PAGEOUT); returns its memory before and after. */
export function pageOut(pid: number): PageOutResult {
  const native = loadNative();
  const before = readSmapsRollup(pid);
  const t0 = performance.now();
  const result = native.processMadvise(pid, native.constants.MADV_PAGEOUT);
  const ms = performance.now() - t0;
  return { ...result, before, after: readSmapsRollup(pid), ms };
}

/** A set of pages as address ranges: [start, length, start, length, ...] (what processMadvise takes). */
export interface WorkingSet {
  ranges: number[];
  pages: number;
  bytes: number;
}

/**
 * The pages of `pid` that are resident (or, with `includeSwapped`, swapped out),
 * coalesced into ranges, from /proc/<pid>/pagemap. Mappings without access
 * (PROT_NONE reservations, guard pages) and the kernel's special mappings are skipped.
 */
export function residentPages(pid: number, options: { includeSwapped?: boolean } = {}): WorkingSet {
  const mask = options.includeSwapped ? PRESENT | SWAPPED : PRESENT;
  const ranges: number[] = [];
  let pages = 0;
  const fd = fs.openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    for (const m of readMaps(pid)) {
      if (m.perms.startsWith('---') || m.name.startsWith('[v')) continue;
      const count = (m.end - m.start) / PAGE;
      // 64 Ki pages (256 MB of address space) per read.
      for (let first = 0; first < count; first += 65536) {
        const n = Math.min(65536, count - first);
        const buf = Buffer.allocUnsafe(n * 8);
        const got = fs.readSync(fd, buf, 0, n * 8, ((m.start / PAGE) + first) * 8);
        for (let i = 0; i < got / 8; i++) {
          if ((buf.readBigUInt64LE(i * 8) & mask) === 0n) continue;
          const addr = m.start + (first + i) * PAGE;
          pages += 1;
          const last = ranges.length - 2;
          if (last >= 0 && ranges[last]! + ranges[last + 1]! === addr) ranges[last + 1]! += PAGE;
          else ranges.push(addr, PAGE);
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return { ranges, pages, bytes: pages * PAGE };
}

/**
 * Asks the kernel to read `ws` back into `pid` (MADV_WILLNEED through process_madvise):
 * swapped anonymous pages come into the swap cache, file pages into the page cache,
 * asynchronously; a process forked from `pid` then maps them with minor faults.
 * Ranges that no longer exist in `pid` are skipped (counted as enomem).
 */
export function prefetch(pid: number, ws: WorkingSet): MadviseResult & { ms: number } {
  const native = loadNative();
  const t0 = performance.now();
  if (ws.ranges.length === 0) return { advisedBytes: 0, ranges: 0, skippedRanges: 0, skippedBytes: 0, einval: 0, enomem: 0, calls: 0, ms: 0 };
  const result = native.processMadvise(pid, native.constants.MADV_WILLNEED, ws.ranges);
  return { ...result, ms: performance.now() - t0 };
}
