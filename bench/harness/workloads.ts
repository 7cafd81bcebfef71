// Workload generators: W1 bursty, W2 diurnal under a memory cap, and replay of
// an invocation trace in the Azure Functions 2019 format. Each turns into a
// list of arrivals (time offset, function), fixed by the seed. Time is scaled:
// one "minute" of workload time lasts `minuteMs` of real time, and the
// keep-alive TTL (10 minutes) is scaled alike, so that the ratio of burst gaps
// to TTL is the paper's while a run fits in minutes.
import crypto from 'node:crypto';
import { Rng } from './rng.js';

export interface Arrival {
  atMs: number;
  fn: string;
}

export type WorkloadName = 'W1' | 'W2' | 'azure';

export interface Workload {
  name: WorkloadName;
  description: string;
  durationMs: number;
  arrivals: Arrival[];
  /** Node memory budget (hearth's memoryBudgetMB) for this workload; undefined = the system default. */
  memoryBudgetMB?: number;
}

export interface WorkloadScale {
  /** Real milliseconds per workload minute. */
  minuteMs: number;
  /** Workload length in workload minutes. */
  minutes: number;
  /** Mean offered load in calls per real second (what 2 shared cores can serve without the slowest baseline collapsing). */
  meanRatePerS: number;
}

export interface FunctionInfo {
  name: string;
  memoryMB: number;
}

function sortArrivals(arrivals: Arrival[]): Arrival[] {
  return arrivals.sort((a, b) => a.atMs - b.atMs || a.fn.localeCompare(b.fn));
}

/**
 * W1 (TrEnv §6.1): bursts separated by more than the keep-alive TTL (12 vs 10
 * minutes). The first comes 12 minutes in, so that what the warm-up left warm
 * has expired as well. Each burst sends 1-3 near-simultaneous calls (within
 * 250 ms) to each of ~75% of the functions, forcing concurrent new instances.
 * Nothing in between: bursts only, as in the paper.
 */
export function bursty(fns: FunctionInfo[], scale: WorkloadScale, seed: number): Workload {
  const rng = new Rng(seed ^ 0x5731);
  const durationMs = scale.minutes * scale.minuteMs;
  const gapMs = 12 * scale.minuteMs;
  const arrivals: Arrival[] = [];
  let bursts = 0;
  for (let burstAt = gapMs; burstAt < durationMs; burstAt += gapMs) {
    bursts++;
    for (const fn of fns) {
      if (rng.next() >= 0.75) continue;
      const calls = 1 + rng.int(3);
      for (let i = 0; i < calls; i++) arrivals.push({ atMs: burstAt + rng.next() * 250, fn: fn.name });
    }
  }
  return {
    name: 'W1',
    description: `bursty: ${bursts} bursts, 12 workload-minutes apart and the first 12 minutes after the warm-up (keep-alive TTL: 10), each 1-3 concurrent calls to each of ~75% of the ${fns.length} functions within 250 ms`,
    durationMs,
    arrivals: sortArrivals(arrivals),
  };
}

/**
 * W2 (TrEnv §6.1): diurnal load cycling through the functions under a tight
 * memory cap. The rate follows one compressed day (0.2x to 1.8x the mean);
 * which functions are popular (Zipf, s = 1.1) rotates through the set; the
 * node's memory budget is 0.6x the sum of the functions' manifest memory (at
 * least two of the largest), so not even one idle instance of every function
 * fits and keep-alive must evict (TrEnv halves its 64 GB testbed to a 32 GB
 * soft cap for W2).
 */
export function diurnal(fns: FunctionInfo[], scale: WorkloadScale, seed: number): Workload {
  const rng = new Rng(seed ^ 0x5732);
  const durationMs = scale.minutes * scale.minuteMs;
  const peak = 1.8 * scale.meanRatePerS;
  const rateAt = (t: number): number => scale.meanRatePerS * (0.2 + 1.6 * ((1 - Math.cos((2 * Math.PI * t) / durationMs)) / 2));
  const arrivals: Arrival[] = [];
  for (let t = rng.exponential(peak) * 1000; t < durationMs; t += rng.exponential(peak) * 1000) {
    if (rng.next() * peak > rateAt(t)) continue;
    const rotation = Math.floor((t / durationMs) * fns.length);
    arrivals.push({ atMs: t, fn: fns[(rng.zipf(fns.length, 1.1) + rotation) % fns.length]!.name });
  }
  const memoryBudgetMB = Math.max(2 * Math.max(...fns.map((f) => f.memoryMB)), Math.round(0.6 * fns.reduce((s, f) => s + f.memoryMB, 0)));
  return {
    name: 'W2',
    description: `diurnal: one compressed day over ${scale.minutes} workload-minutes, rate 0.2x-1.8x of ${scale.meanRatePerS} calls/s, Zipf(1.1) popularity rotating through ${fns.length} functions, memory budget ${memoryBudgetMB} MB (0.6x the sum of the functions' manifest memory: not one instance of each fits)`,
    durationMs,
    arrivals: sortArrivals(arrivals),
    memoryBudgetMB,
  };
}

export interface AzureTraceRow {
  owner: string;
  app: string;
  fn: string;
  trigger: string;
  /** Invocations in each of the day's 1440 minutes. */
  perMinute: number[];
}

/**
 * A synthetic day in the Azure Functions trace format (Shahrad et al., ATC'20:
 * HashOwner,HashApp,HashFunction,Trigger,1..1440). Not the real trace (not
 * downloadable here): generated from the paper's published shape. Daily
 * invocations per function are log-normal with the parameters that put 45% of
 * functions at ≤ 1 call per hour and 81% at ≤ 1 per minute (μ = 3.69,
 * σ = 4.08 on ln(calls/day)); timer-triggered functions fire on fixed periods;
 * the others are Poisson per minute with a diurnal swing (±50%, peak 14:00).
 */
export function syntheticAzureTrace(functions: number, seed: number): AzureTraceRow[] {
  const rng = new Rng(seed ^ 0xa2e);
  const hash = (s: string): string => crypto.createHash('sha256').update(s).digest('hex').slice(0, 32);
  const triggers: Array<[string, number]> = [['http', 0.55], ['timer', 0.16], ['queue', 0.15], ['event', 0.08], ['storage', 0.04], ['orchestration', 0.02]];
  const rows: AzureTraceRow[] = [];
  for (let i = 0; i < functions; i++) {
    let r = rng.next();
    const trigger = triggers.find(([, p]) => (r -= p) <= 0)?.[0] ?? 'http';
    const daily = Math.min(5e6, rng.lognormal(3.69, 4.08));
    const perMinute = new Array<number>(1440).fill(0);
    if (trigger === 'timer') {
      const period = rng.pick([1, 5, 10, 15, 30, 60, 360, 1440]);
      const phase = rng.int(period);
      for (let m = phase; m < 1440; m += period) perMinute[m] = 1;
    } else {
      const mean = daily / 1440;
      for (let m = 0; m < 1440; m++) perMinute[m] = rng.poisson(mean * (1 + 0.5 * Math.sin((2 * Math.PI * (m - 480)) / 1440)));
    }
    const owner = hash(`owner-${seed}-${Math.floor(i / 4)}`);
    rows.push({ owner, app: hash(`app-${seed}-${Math.floor(i / 2)}`), fn: hash(`fn-${seed}-${i}`), trigger, perMinute });
  }
  return rows;
}

export function azureTraceCsv(rows: AzureTraceRow[]): string {
  const header = ['HashOwner', 'HashApp', 'HashFunction', 'Trigger', ...Array.from({ length: 1440 }, (_, i) => String(i + 1))].join(',');
  return `${[header, ...rows.map((r) => [r.owner, r.app, r.fn, r.trigger, ...r.perMinute].join(','))].join('\n')}\n`;
}

export function parseAzureTraceCsv(text: string): AzureTraceRow[] {
  const lines = text.trim().split('\n');
  const header = lines[0]?.split(',') ?? [];
  if (header[0] !== 'HashOwner' || header[3] !== 'Trigger') throw new Error('not an Azure Functions invocation trace (expected HashOwner,HashApp,HashFunction,Trigger,1..1440)');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return { owner: cells[0]!, app: cells[1]!, fn: cells[2]!, trigger: cells[3]!, perMinute: cells.slice(4).map(Number) };
  });
}

/**
 * Replays a window of an Azure-format trace: the window starts at 10:00; the
 * busiest trace functions in it are mapped one to one onto the bench
 * functions; per-minute counts are scaled down to the machine's mean rate
 * (one factor for all, stochastic rounding) and spread uniformly at random
 * within each minute, as TrEnv does (§6.3).
 */
export function traceReplay(rows: AzureTraceRow[], fns: FunctionInfo[], scale: WorkloadScale, seed: number): Workload {
  const rng = new Rng(seed ^ 0x7ace);
  const start = 600;
  const window = (r: AzureTraceRow): number[] => r.perMinute.slice(start, start + scale.minutes);
  const busiest = [...rows].map((r) => ({ r, total: window(r).reduce((s, v) => s + v, 0) })).filter((x) => x.total > 0).sort((a, b) => b.total - a.total).slice(0, fns.length);
  const total = busiest.reduce((s, x) => s + x.total, 0);
  const targetPerMinute = (scale.meanRatePerS * scale.minuteMs) / 1000;
  const factor = total > 0 ? Math.min(1, targetPerMinute / (total / scale.minutes)) : 1;
  const arrivals: Arrival[] = [];
  busiest.forEach(({ r }, i) => {
    window(r).forEach((count, m) => {
      const n = rng.roundStochastic(count * factor);
      for (let k = 0; k < n; k++) arrivals.push({ atMs: (m + rng.next()) * scale.minuteMs, fn: fns[i]!.name });
    });
  });
  return {
    name: 'azure',
    description: `replay of minutes ${start}-${start + scale.minutes} of a synthetic Azure-format trace (${rows.length} functions); the ${busiest.length} busiest mapped onto the bench functions, counts scaled by ${factor.toPrecision(3)} to ~${scale.meanRatePerS} calls/s, spread uniformly within each minute`,
    durationMs: scale.minutes * scale.minuteMs,
    arrivals: sortArrivals(arrivals),
  };
}
