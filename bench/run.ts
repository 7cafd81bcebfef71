// The evaluation harness's command line: `npm run bench -- [--quick|--smoke] ...`.
// Runs every selected workload against every selected system and writes
// results.json, calls.jsonl.gz, report.md and SVG plots into
// bench/results/<date>/ (or --out). See docs/evaluation.md.
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { REPO_ROOT } from '../src/config.js';
import { installSignalHandlers } from './harness/cleanup.js';
import { allFunctions } from './harness/functions.js';
import { rerenderReport, runHarness, type HarnessOptions, type Mode } from './harness/harness.js';
import { ALL_SYSTEMS, type SystemName } from './harness/systems.js';
import type { WorkloadName } from './harness/workloads.js';

const ALL_WORKLOADS: WorkloadName[] = ['W1', 'W2', 'azure'];

interface Preset {
  systems: SystemName[];
  workloads: WorkloadName[];
  functions: (all: string[], heavy: Set<string>) => string[];
  minuteMs: number;
  meanRatePerS: number;
  minutes: Record<WorkloadName, number>;
  drainMs: number;
  sampleMs: number;
}

const PRESETS: Record<Mode, Preset> = {
  // CI: 2 functions without third-party libraries, one workload, two systems.
  smoke: { systems: ['cold', 'hearth'], workloads: ['W1'], functions: () => ['py-json', 'node-json'], minuteMs: 500, meanRatePerS: 2, minutes: { W1: 25, W2: 16, azure: 16 }, drainMs: 15_000, sampleMs: 500 },
  // A few minutes: every system and workload, the functions without torch.
  quick: { systems: ALL_SYSTEMS, workloads: ALL_WORKLOADS, functions: (all, heavy) => all.filter((f) => !heavy.has(f) && f !== 'node-image' && f !== 'py-video'), minuteMs: 750, meanRatePerS: 2, minutes: { W1: 38, W2: 24, azure: 16 }, drainMs: 30_000, sampleMs: 500 },
  // Every function; W2 is the long-running one.
  full: { systems: ALL_SYSTEMS, workloads: ALL_WORKLOADS, functions: (all) => all, minuteMs: 3000, meanRatePerS: 2, minutes: { W1: 61, W2: 120, azure: 60 }, drainMs: 60_000, sampleMs: 1000 },
};

function list<T extends string>(allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) if (!allowed.includes(item as T)) throw new InvalidArgumentError(`'${item}' is not one of ${allowed.join(', ')}`);
    return items as T[];
  };
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

const program = new Command()
  .name('hearth-bench')
  .description('hearth evaluation harness: benchmark functions × workloads (W1 bursty, W2 diurnal under a memory cap, Azure-format trace replay) × systems (cold, crun, keep-alive, hearth)')
  .addOption(new Option('--quick', 'a few minutes: all systems and workloads, the functions without torch, OpenCV or jimp').conflicts(['smoke']))
  .addOption(new Option('--smoke', 'CI scale (< 90 s): 2 functions, W1, cold vs hearth').conflicts(['quick']))
  .option('--out <dir>', 'output directory (default: bench/results/<YYYY-MM-DD>)')
  .option('--seed <n>', 'seed for arrivals and the synthetic trace', (v) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a non-negative integer');
    return Number(v);
  }, 20260101)
  .option('--systems <list>', `comma-separated subset of ${ALL_SYSTEMS.join(',')}`, list(ALL_SYSTEMS))
  .option('--workloads <list>', `comma-separated subset of ${ALL_WORKLOADS.join(',')}`, list(ALL_WORKLOADS))
  .option('--functions <list>', 'comma-separated function names from bench/functions/')
  .option('--minute-ms <ms>', 'real milliseconds per workload-minute (the keep-alive TTL is 10 of them)', positive)
  .option('--rate <calls/s>', 'mean offered load', positive)
  .option('--scale <x>', 'multiply every workload length by x', positive, 1)
  .option('--no-sandbox', 'run every hearth-based system without sandboxes (default: sandboxes on when root, as hearth runs; HEARTH_SANDBOX=0 also turns them off)')
  .option('--python-preload <modules>', 'modules the Python zygote preloads in the hearth systems', process.env.HEARTH_PYTHON_PRELOAD ?? 'numpy')
  .option('--copies <n>', 'deploy every function n times under different names (more functions than fit as templates)', (v) => {
    if (!/^[1-9]\d*$/.test(v) || Number(v) > 20) throw new InvalidArgumentError('must be an integer from 1 to 20');
    return Number(v);
  }, 1)
  .option('--budget-mb <MB>', "override W2's memory budget", positive)
  .addOption(new Option('--accounting <mode>', 'how instances are charged against the budget in every system').choices(['reserved', 'measured']))
  .option('--call-timeout <s>', 'per-call timeout in seconds', positive, 90)
  .option('--quiet', 'no progress output')
  .option('--report-only <dir>', 'run nothing: re-render report.md and the plots from the results.json and calls file in <dir>');

program.parse();
const opts = program.opts<{
  quick?: boolean;
  smoke?: boolean;
  out?: string;
  seed: number;
  systems?: SystemName[];
  workloads?: WorkloadName[];
  functions?: string;
  minuteMs?: number;
  rate?: number;
  scale: number;
  sandbox: boolean;
  pythonPreload: string;
  callTimeout: number;
  copies: number;
  budgetMb?: number;
  accounting?: 'reserved' | 'measured';
  quiet?: boolean;
  reportOnly?: string;
}>();

if (opts.reportOnly) {
  for (const f of rerenderReport(path.resolve(opts.reportOnly))) process.stdout.write(`${path.relative(process.cwd(), f)}\t${fs.statSync(f).size} bytes\n`);
  process.exit(0);
}

const mode: Mode = opts.smoke ? 'smoke' : opts.quick ? 'quick' : 'full';
const preset = PRESETS[mode];
const catalog = allFunctions();
const functions = opts.functions ? opts.functions.split(',').map((s) => s.trim()).filter(Boolean) : preset.functions(catalog.map((f) => f.name), new Set(catalog.filter((f) => f.heavy).map((f) => f.name)));
const outDir = path.resolve(opts.out ?? path.join(REPO_ROOT, 'bench', 'results', new Date().toISOString().slice(0, 10)));
const t0 = Date.now();
const log = (line: string): void => {
  if (!opts.quiet) process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};
const controller = new AbortController();
installSignalHandlers(controller, log);

const minutes = Object.fromEntries(Object.entries(preset.minutes).map(([w, m]) => [w, Math.max(1, Math.round(m * opts.scale))])) as Record<WorkloadName, number>;
const options: HarnessOptions = {
  mode,
  outDir,
  seed: opts.seed,
  systems: opts.systems ?? preset.systems,
  workloads: opts.workloads ?? preset.workloads,
  functions,
  minuteMs: opts.minuteMs ?? preset.minuteMs,
  meanRatePerS: opts.rate ?? preset.meanRatePerS,
  minutes,
  callTimeoutMs: opts.callTimeout * 1000,
  drainMs: preset.drainMs,
  sampleMs: preset.sampleMs,
  sandbox: opts.sandbox && process.env.HEARTH_SANDBOX !== '0' && process.getuid?.() === 0,
  pythonPreload: opts.pythonPreload.split(',').map((s) => s.trim()).filter(Boolean),
  copies: opts.copies,
  ...(opts.budgetMb ? { budgetMB: opts.budgetMb } : {}),
  ...(opts.accounting ? { accounting: opts.accounting } : {}),
  log,
  signal: controller.signal,
};

if (process.getuid?.() !== 0) log('not root: no cgroups, no crun baseline, no sandboxes; memory is still measured from /proc');
log(`${mode} run: systems ${options.systems.join(', ')}; workloads ${options.workloads.join(', ')}; functions ${functions.join(', ')}; output ${outDir}`);
try {
  const { files } = await runHarness(options);
  log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s; wrote:`);
  for (const f of files) process.stdout.write(`${path.relative(process.cwd(), f)}\t${fs.statSync(f).size} bytes\n`);
} catch (error) {
  if (controller.signal.aborted) {
    process.stderr.write('bench interrupted: everything it started is stopped and removed\n');
    process.exitCode = 130;
  } else {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
