// Latency summaries for the harness (nearest-rank percentiles, as bench/lib/stats.ts).
import { percentile } from '../lib/stats.js';
import type { LatencySummary } from './schema.js';

export function latencySummary(values: number[]): LatencySummary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { n: 0, p50: null, p90: null, p99: null, p999: null, mean: null, max: null };
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    max: sorted[sorted.length - 1]!,
  };
}
