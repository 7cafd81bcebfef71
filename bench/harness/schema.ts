// The results file's schema (zod): the report is written from data that
// passed it, and the CI smoke test checks a run's output against it.
import { z } from 'zod';

const num = z.number().finite();
const nullableNum = num.nullable();

export const SummarySchema = z
  .object({ n: z.number().int().min(0), p50: nullableNum, p90: nullableNum, p99: nullableNum, p999: nullableNum, mean: nullableNum, max: nullableNum })
  .strict();
export type LatencySummary = z.infer<typeof SummarySchema>;

export const AccountingSchema = z
  .object({
    scheduled: z.number().int().min(0),
    ok: z.number().int().min(0),
    functionError: z.number().int().min(0),
    httpError: z.number().int().min(0),
    timeout: z.number().int().min(0),
    networkError: z.number().int().min(0),
  })
  .strict()
  .refine((a) => a.ok + a.functionError + a.httpError + a.timeout + a.networkError === a.scheduled, { message: 'every scheduled call must be accounted for exactly once' });

const PhaseMeansSchema = z.object({ n: z.number().int().min(1), queue: num, sandbox: num, process: num, init: num, exec: num, start: num }).strict();

export const RunSchema = z
  .object({
    system: z.string(),
    workload: z.string(),
    wallMs: num,
    accounting: AccountingSchema,
    warmup: z.object({ calls: z.number().int().min(0), ok: z.number().int().min(0) }).strict(),
    /** Successful calls per second between the first send and the last completion. */
    throughputPerS: num,
    /** Largest delay of a send behind its schedule (the generator's own health). */
    maxLagMs: num,
    e2e: SummarySchema,
    start: SummarySchema,
    /** Start latency of calls that got a new instance (every path but warm). */
    newInstanceStart: SummarySchema,
    paths: z.record(z.string(), z.number().int().min(0)),
    phasesByPath: z.record(z.string(), PhaseMeansSchema),
    perFunction: z.record(z.string(), z.object({ e2e: SummarySchema, start: SummarySchema, paths: z.record(z.string(), z.number().int().min(0)) }).strict()),
    memory: z
      .object({
        peakPssMB: num,
        meanPssMB: num,
        peakInstancesPssMB: num,
        meanInstancesPssMB: num,
        samples: z.array(z.tuple([num, num])),
        intervalMs: num,
      })
      .strict(),
    cpuS: num,
    errors: z.array(z.string()),
  })
  .strict();
export type RunResult = z.infer<typeof RunSchema>;

export const ResultsSchema = z
  .object({
    schema: z.literal('hearth-bench/1'),
    mode: z.enum(['smoke', 'quick', 'full']),
    seed: z.number().int(),
    startedAt: z.string(),
    finishedAt: z.string(),
    machine: z.record(z.string(), z.unknown()),
    scale: z.object({ minuteMs: num, ttlMs: num, meanRatePerS: num, callTimeoutMs: num, drainMs: num }).strict(),
    functions: z.array(z.object({ name: z.string(), runtime: z.string(), trenv: z.string().optional(), skipped: z.string().optional() }).strict()).min(1),
    systems: z.array(z.object({ name: z.string(), kind: z.enum(['baseline', 'hearth']), description: z.string(), config: z.record(z.string(), z.unknown()), skipped: z.string().optional() }).strict()).min(1),
    workloads: z.array(z.object({ name: z.string(), description: z.string(), durationMs: num, arrivals: z.number().int().min(0), memoryBudgetMB: num.optional() }).strict()).min(1),
    runs: z.array(RunSchema),
    callsFile: z.string(),
  })
  .strict();
export type Results = z.infer<typeof ResultsSchema>;

/** One line of the calls file (JSON lines, gzip). */
export const CallLineSchema = z
  .object({
    system: z.string(),
    workload: z.string(),
    fn: z.string(),
    atMs: num,
    lagMs: num,
    status: z.enum(['ok', 'function-error', 'http-error', 'timeout', 'network-error']),
    httpStatus: z.number().int().nullable(),
    e2eMs: nullableNum,
    startPath: z.string().nullable(),
    phases: z.record(z.string(), num),
    error: z.string().optional(),
  })
  .strict();
