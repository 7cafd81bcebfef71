// The Markdown report and its SVG plots, written from validated results and
// the per-call records. Every number in it comes from this run's data; the
// papers' figures are quoted (with their baselines) only for comparison.
import fs from 'node:fs';
import path from 'node:path';
import { markdownTable } from '../lib/stats.js';
import type { CallRecord } from './loadgen.js';
import type { Results, RunResult } from './schema.js';
import { latencySummary } from './stats.js';
import { cdfPoints, lineChart, stackedBars } from './svg.js';

const f1 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (a: number | null | undefined, b: number | null | undefined): string => (a && b && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–');
const saving = (hearth: number, base: number): string => (base > 0 ? `${(100 * (1 - hearth / base)).toFixed(0)}%` : '–');

function pathsText(paths: Record<string, number>): string {
  return Object.entries(paths).sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} ${n}`).join(', ') || '–';
}

/** The papers' headline numbers, with what they were measured against. */
const PAPER_CLAIMS: Array<{ paper: string; metric: string; claim: string; against: string; ours: (r: Ratios) => string }> = [
  { paper: 'TrEnv (seeds/004)', metric: 'P99 E2E speedup', claim: 'up to 7× (18×)', against: 'REAP+ (FaaSnap+): Firecracker lazy restore', ours: (r) => r.p99Best },
  { paper: 'TrEnv', metric: 'peak memory reduction', claim: '48% average (37–61% vs faasd/CRIU/REAP+/FaaSnap+ in W1/W2)', against: 'faasd keep-alive, CRIU, REAP+, FaaSnap+', ours: (r) => r.memBest },
  { paper: 'TrEnv', metric: 'instance start', claim: '≈10 ms (CH P99 13 ms); CR 1.7 s → 15 ms P99 (>100×) vs faasd/CRIU', against: 'faasd cold containers, CRIU', ours: (r) => r.startAbs },
  { paper: 'Catalyzer (ASPLOS\'20; seeds/000)', metric: 'start latency', claim: '<1 ms best case (sfork), orders of magnitude vs gVisor cold boot', against: 'gVisor / Docker cold boot', ours: (r) => r.startRatio },
  { paper: 'Spice (arXiv 2025; seeds/002)', metric: 'cold-start latency', claim: 'up to 14.9× (process-based), 10.6× (VM-based)', against: 'CRIU-style process restore; Firecracker snapshots', ours: (r) => r.startRatio },
];

interface Ratios {
  p99Best: string;
  memBest: string;
  startAbs: string;
  startRatio: string;
}

function byKey(results: Results): Map<string, RunResult> {
  return new Map(results.runs.map((r) => [`${r.system}\u0000${r.workload}`, r]));
}

export function writeReport(results: Results, calls: Map<string, CallRecord[]>, outDir: string): string[] {
  const files: string[] = [];
  const runs = byKey(results);
  const systems = results.systems.filter((s) => !s.skipped).map((s) => s.name);
  const baselines = results.systems.filter((s) => !s.skipped && s.kind === 'baseline').map((s) => s.name);
  const hearths = results.systems.filter((s) => !s.skipped && s.kind === 'hearth').map((s) => s.name);
  const write = (name: string, text: string): void => {
    const file = path.join(outDir, name);
    fs.writeFileSync(file, text);
    files.push(file);
  };
  const md: string[] = [];
  md.push(`# hearth evaluation (${results.mode})`, '');
  md.push(
    `Run ${results.startedAt} → ${results.finishedAt}, seed ${results.seed}. Machine: ${results.machine.cpus} CPUs (${String(results.machine.cpuModel)}), ${String(results.machine.memGB)} GiB, Linux ${String(results.machine.kernel)}, Node ${String(results.machine.node)}; shared with other work, so read ratios rather than absolute times. ` +
      `Sandboxes: ${results.machine.sandbox ? 'on' : 'off (--no-sandbox, HEARTH_SANDBOX=0 or not root: every system runs unsandboxed)'}. Python zygote preload: ${(results.machine.pythonPreload as string[]).join(', ') || 'none'}.`,
    '',
    `Time is scaled: one workload-minute = ${results.scale.minuteMs / 1000} s, so the 10-minute keep-alive TTL is ${results.scale.ttlMs / 1000} s. Mean offered load ≈ ${results.scale.meanRatePerS} calls/s (open loop, localhost). Calls time out after ${results.scale.callTimeoutMs / 1000} s; after the last arrival, calls still running get ${results.scale.drainMs / 1000} s before they count as timeouts. Each (workload, system) pair runs on a fresh server after a warm-up of one call per function. Latencies in ms; "start" is request arrival until the handler's first line (server-reported), "E2E" is measured by the client. Memory: PSS summed over the server's process tree and its cgroups (agent included), sampled every ${results.runs[0]?.memory.intervalMs ?? '?'} ms; CPU: seconds of the same tree during the workload. ` +
      `Percentiles are nearest-rank: with fewer than 100 calls in a cell, P99 and P99.9 are the maximum.`,
    '',
  );
  md.push('## Systems', '', markdownTable(['system', 'kind', 'what', 'status'], results.systems.map((s) => [s.name, s.kind, s.description, s.skipped ? `skipped: ${s.skipped}` : 'ran'])), '');
  if (systems.includes('crun')) {
    md.push(
      'CPU shares: each crun container gets its own cgroup at the top of the cpu hierarchy (crun\'s default), while all of a hearth server\'s instances share one (`hearth-<hash>`). When other work loads the host, the crun baseline therefore gets a larger slice of the CPU than every other system: comparisons with crun are biased in crun\'s favour.',
      '',
    );
  }
  md.push('## Workloads', '', markdownTable(['workload', 'calls', 'seconds', 'description'], results.workloads.map((w) => [w.name, w.arrivals, (w.durationMs / 1000).toFixed(0), w.description])), '');
  md.push('## Functions', '', markdownTable(['function', 'runtime', 'TrEnv name', 'status'], results.functions.map((f) => [f.name, f.runtime, f.trenv ?? '', f.skipped ? `skipped: ${f.skipped}` : 'ran'])), '');

  md.push('## Every call accounted', '', markdownTable(['workload', 'system', 'scheduled', 'ok', 'function error', 'HTTP error', 'timeout', 'network error', 'warm-up ok', 'max send lag ms'], results.runs.map((r) => [r.workload, r.system, r.accounting.scheduled, r.accounting.ok, r.accounting.functionError, r.accounting.httpError, r.accounting.timeout, r.accounting.networkError, `${r.warmup.ok}/${r.warmup.calls}`, f1(r.maxLagMs)])), '');
  const errored = results.runs.filter((r) => r.errors.length);
  if (errored.length) {
    md.push('Errors seen (first of each kind):', '');
    for (const r of errored) for (const e of r.errors.slice(0, 3)) md.push(`- ${r.workload} × ${r.system}: \`${e.replace(/`/g, "'").replace(/\s+/g, ' ').slice(0, 200)}\``);
    md.push('');
  }

  for (const w of results.workloads) {
    md.push(`## ${w.name}`, '', w.description, '');
    const rows = systems.map((s) => runs.get(`${s}\u0000${w.name}`)).filter((r): r is RunResult => !!r);
    md.push(
      markdownTable(
        ['system', 'ok', 'E2E P50', 'P90', 'P99', 'P99.9', 'start P50', 'start P99', 'new-instance start P50', 'P99', 'calls/s', 'peak PSS MB', 'mean PSS MB', 'CPU s', 'start paths'],
        rows.map((r) => [r.system, r.accounting.ok, f1(r.e2e.p50), f1(r.e2e.p90), f1(r.e2e.p99), f1(r.e2e.p999), f1(r.start.p50), f1(r.start.p99), f1(r.newInstanceStart.p50), f1(r.newInstanceStart.p99), r.throughputPerS.toFixed(2), f1(r.memory.peakPssMB), f1(r.memory.meanPssMB), r.cpuS.toFixed(1), pathsText(r.paths)]),
      ),
      '',
    );
    const fnNames = [...new Set(rows.flatMap((r) => Object.keys(r.perFunction)))].sort();
    md.push(`E2E P50 / P99 per function (ms):`, '', markdownTable(['function', ...rows.map((r) => r.system)], fnNames.map((fn) => [fn, ...rows.map((r) => { const x = r.perFunction[fn]; return x ? `${f1(x.e2e.p50)} / ${f1(x.e2e.p99)}` : '–'; })])), '');
    // Plots: E2E CDF and memory over time.
    const cdf = lineChart({
      title: `${w.name}: E2E latency CDF (successful calls)`,
      xLabel: 'E2E latency, ms (log)',
      yLabel: 'fraction of calls',
      logX: true,
      yMax: 1,
      series: rows.map((r) => ({ name: r.system, points: cdfPoints((calls.get(`${r.system}\u0000${w.name}`) ?? []).filter((c) => c.status === 'ok').map((c) => c.e2eMs!)) })),
    });
    write(`cdf-${w.name}.svg`, cdf);
    const mem = lineChart({ title: `${w.name}: memory (PSS of the system's processes)`, xLabel: 'time since the workload started, s', yLabel: 'PSS, MB', xMin: 0, series: rows.map((r) => ({ name: r.system, points: r.memory.samples.map(([t, v]) => [t / 1000, v] as [number, number]) })) });
    write(`memory-${w.name}.svg`, mem);
    md.push(`![E2E CDF](cdf-${w.name}.svg)`, '', `![memory](memory-${w.name}.svg)`, '');
  }

  // Start-latency breakdown per phase, per system and path, over all workloads.
  const phaseRows: Array<{ label: string; v: number[]; n: number }> = [];
  for (const s of systems) {
    const agg = new Map<string, { n: number; sums: number[] }>();
    for (const r of results.runs.filter((x) => x.system === s)) {
      for (const [p, ph] of Object.entries(r.phasesByPath)) {
        const a = agg.get(p) ?? { n: 0, sums: [0, 0, 0, 0, 0] };
        [ph.queue, ph.sandbox, ph.process, ph.init, ph.start - ph.queue - ph.sandbox - ph.process - ph.init].forEach((v, i) => (a.sums[i]! += v * ph.n));
        a.n += ph.n;
        agg.set(p, a);
      }
    }
    for (const [p, a] of [...agg].sort()) phaseRows.push({ label: `${s} · ${p}`, v: a.sums.map((x) => x / a.n), n: a.n });
  }
  write('start-phases.svg', stackedBars({ title: 'Mean start latency by phase (all workloads)', unit: 'ms', categories: phaseRows.map((r) => `${r.label} (n=${r.n})`), stacks: ['queue', 'sandbox', 'process', 'init', 'other'], values: phaseRows.map((r) => r.v.map((x) => Math.max(0, x))) }));
  md.push('## Start latency by phase', '', 'Mean over successful calls of all workloads, by system and start path; "other" is the rest of the start phase (scheduling, channel, bootstrap hand-off).', '');
  md.push(markdownTable(['system · path', 'n', 'queue', 'sandbox', 'process', 'init', 'other', 'start'], phaseRows.map((r) => [r.label, r.n, ...r.v.map(f1), f1(r.v.reduce((a, b) => a + b, 0))])), '', '![start phases](start-phases.svg)', '');
  // Start latency percentiles by path and runtime, from the calls themselves.
  const runtimeOf = new Map(results.functions.map((f) => [f.name, f.runtime]));
  const byPathRows: Array<Array<string | number>> = [];
  for (const s of systems) {
    const groups = new Map<string, number[]>();
    for (const [key, list] of calls) {
      if (key.split('\u0000')[0] !== s) continue;
      for (const c of list) {
        if (c.status !== 'ok' || !c.startPath || c.phases.start === undefined) continue;
        const g = `${c.startPath}\u0000${runtimeOf.get(c.fn) ?? '?'}`;
        groups.set(g, [...(groups.get(g) ?? []), c.phases.start]);
      }
    }
    for (const [g, values] of [...groups].sort()) {
      const [p, runtime] = g.split('\u0000') as [string, string];
      const sum = latencySummary(values);
      byPathRows.push([s, p, runtime, sum.n, f1(sum.p50), f1(sum.p90), f1(sum.p99), f1(sum.max)]);
    }
  }
  md.push('Start latency (request arrival to the handler\'s first line) by system, path and runtime, all workloads:', '', markdownTable(['system', 'path', 'runtime', 'n', 'P50', 'P90', 'P99', 'max'], byPathRows), '');

  // Ratios: each hearth system against each baseline.
  md.push('## hearth against the baselines', '', 'Speed-up = baseline ÷ hearth (higher is better for hearth); memory saving = 1 − hearth ÷ baseline peak PSS.', '');
  const ratioRows: Array<Array<string | number>> = [];
  let bestP99 = 0;
  let bestP99Label = '';
  let bestMem = -Infinity;
  let bestMemLabel = '';
  let bestStart = 0;
  let bestStartLabel = '';
  for (const w of results.workloads) {
    for (const h of hearths) {
      const hr = runs.get(`${h}\u0000${w.name}`);
      if (!hr) continue;
      for (const b of baselines) {
        const br = runs.get(`${b}\u0000${w.name}`);
        if (!br) continue;
        ratioRows.push([w.name, h, b, ratio(br.e2e.p50, hr.e2e.p50), ratio(br.e2e.p99, hr.e2e.p99), ratio(br.newInstanceStart.p50, hr.newInstanceStart.p50), ratio(br.newInstanceStart.p99, hr.newInstanceStart.p99), saving(hr.memory.peakPssMB, br.memory.peakPssMB), saving(hr.memory.meanPssMB, br.memory.meanPssMB), ratio(br.cpuS, hr.cpuS)]);
        const p99 = (br.e2e.p99 ?? 0) / (hr.e2e.p99 ?? Infinity);
        if (p99 > bestP99) [bestP99, bestP99Label] = [p99, `${h} vs ${b}, ${w.name}`];
        const mem = 1 - hr.memory.peakPssMB / br.memory.peakPssMB;
        if (mem > bestMem) [bestMem, bestMemLabel] = [mem, `${h} vs ${b}, ${w.name}`];
        const st = (br.newInstanceStart.p50 ?? 0) / (hr.newInstanceStart.p50 ?? Infinity);
        if (st > bestStart) [bestStart, bestStartLabel] = [st, `${h} vs ${b}, ${w.name}`];
      }
    }
  }
  md.push(markdownTable(['workload', 'hearth', 'baseline', 'E2E P50 speed-up', 'E2E P99 speed-up', 'new-instance start P50 speed-up', 'new-instance start P99 speed-up', 'peak memory saving', 'mean memory saving', 'CPU ratio'], ratioRows), '');
  const startAll = results.runs.filter((r) => hearths.includes(r.system) && r.newInstanceStart.n > 0);
  const startAbs = startAll.length ? startAll.map((r) => `${r.workload} ${r.system}: P50 ${f1(r.newInstanceStart.p50)} ms, P99 ${f1(r.newInstanceStart.p99)} ms`).join('; ') : '–';
  const r: Ratios = {
    p99Best: bestP99 > 0 ? `up to ${bestP99.toFixed(2)}× (${bestP99Label})` : '–',
    memBest: Number.isFinite(bestMem) ? `up to ${(100 * bestMem).toFixed(0)}% (${bestMemLabel})` : '–',
    startAbs,
    startRatio: bestStart > 0 ? `up to ${bestStart.toFixed(2)}× new-instance start P50 (${bestStartLabel})` : '–',
  };
  md.push('## Next to the papers', '', 'The papers measured other systems on other hardware against other baselines (kernel changes, CXL memory, VMs); hearth is user space on a stock kernel against a cold process, a crun container per instance and fixed keep-alive. Read the columns side by side as orders of magnitude, not as a race.', '');
  md.push(markdownTable(['paper', 'metric', 'paper\'s number', 'paper\'s baseline', 'hearth, this run'], PAPER_CLAIMS.map((c) => [c.paper, c.metric, c.claim, c.against, c.ours(r)])), '');
  md.push('## Files', '', '- `results.json`: everything above (schema `bench/harness/schema.ts`)', `- \`${results.callsFile}\`: one JSON line per call (gzip)`, ...(results.workloads.some((w) => w.name === 'azure') ? ['- `azure-trace.csv.gz`: the synthetic trace replayed (Azure Functions 2019 format)'] : []), '- `*.svg`: the plots', '');
  write('report.md', `${md.join('\n')}\n`);
  return files;
}
