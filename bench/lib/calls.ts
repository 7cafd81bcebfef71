// Shared bench helpers for calls through a hearth in the same process.
import type { RunningHearth } from '../../src/main.js';

/** One phase's duration (ms) from a Server-Timing header (`start;dur=1.23, ...`), NaN when absent. */
export function serverTiming(header: string | null, name: string): number {
  return Number(new RegExp(`${name};dur=([\\d.]+)`).exec(header ?? '')?.[1] ?? NaN);
}

/** Waits until `fn` has no live instance (keepAliveMs 0: the next call needs a new one). */
export async function waitNoInstances(h: RunningHearth, fn: string): Promise<void> {
  while (h.hearth.scheduler.liveInstances(fn) > 0) await new Promise((r) => setTimeout(r, 1));
}
