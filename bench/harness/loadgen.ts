// Open-loop load generation: every arrival is sent at its scheduled time,
// whether or not earlier calls have returned (so a slow system queues work
// instead of slowing the offered load down). Only to the system's loopback URL.
import type { Arrival } from './workloads.js';

export type CallStatus = 'ok' | 'function-error' | 'http-error' | 'timeout' | 'network-error';

export const PHASE_NAMES = ['queue', 'sandbox', 'process', 'init', 'exec', 'start', 'total'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

export interface CallRecord {
  fn: string;
  /** Scheduled send time, ms from the workload's start. */
  atMs: number;
  /** How late the generator actually sent it. */
  lagMs: number;
  status: CallStatus;
  httpStatus: number | null;
  /** Client-side end-to-end latency (send to last response byte); null when the call never completed. */
  e2eMs: number | null;
  startPath: string | null;
  /** Server-reported phases (Server-Timing), ms. */
  phases: Partial<Record<PhaseName, number>>;
  error?: string;
}

export function parseServerTiming(header: string | null): Partial<Record<PhaseName, number>> {
  const out: Partial<Record<PhaseName, number>> = {};
  for (const part of (header ?? '').split(',')) {
    const m = /^\s*([a-z]+);dur=([\d.]+)/.exec(part);
    if (m && (PHASE_NAMES as readonly string[]).includes(m[1]!)) out[m[1] as PhaseName] = Number(m[2]);
  }
  return out;
}

export async function invokeOnce(url: string, fn: string, event: unknown, timeoutMs: number, signal?: AbortSignal): Promise<Omit<CallRecord, 'atMs' | 'lagMs'>> {
  const t0 = performance.now();
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
  try {
    const res = await fetch(`${url}/function/${fn}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event), signal: AbortSignal.any(signals) });
    const body = await res.text();
    const e2eMs = performance.now() - t0;
    const functionError = res.headers.get('x-amz-function-error');
    const status: CallStatus = res.status !== 200 ? 'http-error' : functionError ? 'function-error' : 'ok';
    return {
      fn,
      status,
      httpStatus: res.status,
      e2eMs,
      startPath: res.headers.get('x-hearth-start-path'),
      phases: parseServerTiming(res.headers.get('server-timing')),
      ...(status === 'ok' ? {} : { error: body.slice(0, 300) }),
    };
  } catch (error) {
    const e = error as Error;
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    return { fn, status: timedOut ? 'timeout' : 'network-error', httpStatus: null, e2eMs: null, startPath: null, phases: {}, error: `${e.name}: ${e.message}`.slice(0, 300) };
  }
}

export interface LoadOptions {
  url: string;
  arrivals: Arrival[];
  events: Map<string, unknown>;
  /** Per-call timeout. */
  callTimeoutMs: number;
  /** After the last arrival, how long outstanding calls may still take before they are aborted (and counted as timeouts). */
  drainMs: number;
  onProgress?: (done: number, sent: number, total: number) => void;
  signal?: AbortSignal;
}

/** Sends every arrival at its time; resolves with one record per arrival (in arrival order). */
export async function runOpenLoop(o: LoadOptions): Promise<CallRecord[]> {
  const records: CallRecord[] = new Array(o.arrivals.length);
  const inflight: Array<Promise<void>> = [];
  const drain = new AbortController();
  const abort = AbortSignal.any([drain.signal, ...(o.signal ? [o.signal] : [])]);
  let done = 0;
  const t0 = performance.now();
  const progress = setInterval(() => o.onProgress?.(done, inflight.length, o.arrivals.length), 2000);
  try {
    for (let i = 0; i < o.arrivals.length; i++) {
      const a = o.arrivals[i]!;
      const wait = t0 + a.atMs - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (o.signal?.aborted) throw new Error('interrupted');
      const lagMs = Math.max(0, performance.now() - t0 - a.atMs);
      inflight.push(
        invokeOnce(o.url, a.fn, o.events.get(a.fn) ?? {}, o.callTimeoutMs, abort).then((r) => {
          records[i] = { ...r, atMs: a.atMs, lagMs };
          done++;
        }),
      );
    }
    const drainTimer = setTimeout(() => drain.abort(), o.drainMs);
    await Promise.all(inflight);
    clearTimeout(drainTimer);
  } finally {
    clearInterval(progress);
  }
  return records;
}
