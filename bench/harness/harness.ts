// The evaluation harness: for every workload and system, start the system as
// its own server process, deploy the benchmark functions, warm up (one call
// each), replay the workload open-loop while sampling memory and CPU, stop the
// server, and summarise. Results go to <outDir>/results.json (schema.ts),
// calls.jsonl.gz (one line per call) and the report (report.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { zipDirectory } from '../../src/cli/zip-dir.js';
import { machine } from '../lib/stats.js';
import { removeDir, trackChild, trackDir } from './cleanup.js';
import { allFunctions, missingDependencies, type BenchFunction } from './functions.js';
import { invokeOnce, runOpenLoop, type CallRecord, type PhaseName } from './loadgen.js';
import { Monitor } from './monitor.js';
import { writeReport } from './report.js';
import { CallLineSchema, ResultsSchema, type Results, type RunResult } from './schema.js';
import type { ServerSpec } from './server.js';
import { latencySummary } from './stats.js';
import { systemSpec, unavailable, type SystemName, type SystemSpec } from './systems.js';
import { azureTraceCsv, bursty, diurnal, syntheticAzureTrace, traceReplay, type FunctionInfo, type Workload, type WorkloadName, type WorkloadScale } from './workloads.js';

export type Mode = 'smoke' | 'quick' | 'full';

export interface HarnessOptions {
  mode: Mode;
  outDir: string;
  seed: number;
  systems: SystemName[];
  workloads: WorkloadName[];
  /** Function names (bench/functions/<name>). */
  functions: string[];
  minuteMs: number;
  meanRatePerS: number;
  /** Workload length in workload-minutes, per workload. */
  minutes: Record<WorkloadName, number>;
  callTimeoutMs: number;
  drainMs: number;
  sampleMs: number;
  sandbox: boolean;
  pythonPreload: string[];
  /** Deploy every function this many times under different names (name, name-2, ...): more functions than fit. */
  copies?: number;
  /** Overrides W2's memory budget (MB). */
  budgetMB?: number;
  /** How instances are charged against the budget in every system (hearth's HEARTH_MEMORY_ACCOUNTING); default: hearth's. */
  accounting?: 'reserved' | 'measured';
  log: (line: string) => void;
  signal?: AbortSignal;
}

const SERVER_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server.js');

interface RunningServer {
  child: ChildProcess;
  url: string;
  dataDir: string;
  stderr: () => string;
}

async function startServer(spec: SystemSpec, dataDir: string): Promise<RunningServer> {
  const serverSpec: ServerSpec = { dataDir, system: spec };
  const child = spawn(process.execPath, [SERVER_JS, JSON.stringify(serverSpec)], { stdio: ['pipe', 'pipe', 'pipe'] });
  trackChild(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${spec.name}: server did not start within 60 s: ${stderr}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name}: server exited with ${code} before it was up: ${stderr}`));
    });
  });
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`${spec.name}: server is not on loopback: ${url}`);
  return { child, url, dataDir, stderr: () => stderr };
}

async function stopServer(server: RunningServer, monitor: Monitor | undefined): Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) resolve();
    else server.child.once('exit', () => resolve());
  });
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
  // Anything of this system still alive in its cgroups is killed: the next run starts clean.
  if (monitor) {
    for (const pid of monitor.pids()) {
      if (pid === server.child.pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/**
 * Containers of a crun run that crun still knows about (the starter deletes
 * each one when its instance ends; one killed mid-start can be missed): those
 * whose bundle is in this run's data directory are deleted, nobody else's.
 */
function sweepCrunContainers(dataDir: string, log: (line: string) => void): void {
  const stateDir = '/run/crun';
  let ids: string[];
  try {
    ids = fs.readdirSync(stateDir);
  } catch {
    return;
  }
  for (const id of ids) {
    try {
      const status = JSON.parse(fs.readFileSync(path.join(stateDir, id, 'status'), 'utf8')) as { bundle?: string };
      if (!status.bundle?.startsWith(`${dataDir}/`)) continue;
      const r = spawnSync('/usr/bin/crun', ['delete', '--force', id], { encoding: 'utf8' });
      log(`removed leftover container ${id}${r.status === 0 ? '' : ` (crun delete: ${r.stderr.trim()})`}`);
    } catch {
      // not a container state directory, or gone meanwhile
    }
  }
}

async function deploy(url: string, zip: Buffer, fn: BenchFunction): Promise<void> {
  // A copy is the same package deployed under another name (the manifest in the JSON body wins).
  const manifest = JSON.parse(fs.readFileSync(path.join(fn.dir, 'hearth.json'), 'utf8')) as Record<string, unknown>;
  const res =
    manifest.name === fn.name
      ? await fetch(`${url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: new Uint8Array(zip) })
      : await fetch(`${url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ zipBase64: zip.toString('base64'), manifest: { ...manifest, name: fn.name } }) });
  if (res.status !== 201) throw new Error(`deploy failed: HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`);
}

function readManifest(fn: BenchFunction): FunctionInfo {
  const m = JSON.parse(fs.readFileSync(path.join(fn.dir, 'hearth.json'), 'utf8')) as { memoryMB?: number };
  return { name: fn.name, memoryMB: m.memoryMB ?? 128 };
}

function mean(values: number[]): number {
  return values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0;
}

export function summariseRun(system: string, workload: string, calls: CallRecord[], samples: Monitor['samples'], sampleMs: number, wallMs: number, warmup: RunResult['warmup']): RunResult {
  const count = (status: CallRecord['status']): number => calls.filter((c) => c.status === status).length;
  const ok = calls.filter((c) => c.status === 'ok');
  const paths: Record<string, number> = {};
  const byPath = new Map<string, CallRecord[]>();
  for (const c of calls) {
    if (!c.startPath) continue;
    paths[c.startPath] = (paths[c.startPath] ?? 0) + 1;
    if (c.status === 'ok') byPath.set(c.startPath, [...(byPath.get(c.startPath) ?? []), c]);
  }
  const phasesByPath: RunResult['phasesByPath'] = {};
  for (const [p, list] of byPath) {
    const m = (name: PhaseName): number => mean(list.map((c) => c.phases[name] ?? 0));
    phasesByPath[p] = { n: list.length, queue: m('queue'), sandbox: m('sandbox'), process: m('process'), init: m('init'), exec: m('exec'), start: m('start') };
  }
  const perFunction: RunResult['perFunction'] = {};
  for (const fn of [...new Set(calls.map((c) => c.fn))].sort()) {
    const mine = ok.filter((c) => c.fn === fn);
    const fnPaths: Record<string, number> = {};
    for (const c of calls) if (c.fn === fn && c.startPath) fnPaths[c.startPath] = (fnPaths[c.startPath] ?? 0) + 1;
    perFunction[fn] = { e2e: latencySummary(mine.map((c) => c.e2eMs!)), start: latencySummary(mine.map((c) => c.phases.start ?? NaN)), paths: fnPaths };
  }
  const sends = calls.map((c) => c.atMs + c.lagMs);
  const ends = ok.map((c) => c.atMs + c.lagMs + c.e2eMs!);
  const span = ends.length ? (Math.max(...ends) - Math.min(...sends)) / 1000 : 0;
  const step = Math.max(1, Math.ceil(samples.length / 240));
  const errors = [...new Set(calls.filter((c) => c.status !== 'ok').map((c) => `${c.status} ${c.fn}: ${c.error ?? ''}`.slice(0, 240)))].slice(0, 10);
  return {
    system,
    workload,
    wallMs,
    accounting: { scheduled: calls.length, ok: ok.length, functionError: count('function-error'), httpError: count('http-error'), timeout: count('timeout'), networkError: count('network-error') },
    warmup,
    throughputPerS: span > 0 ? ok.length / span : 0,
    maxLagMs: Math.max(0, ...calls.map((c) => c.lagMs)),
    e2e: latencySummary(ok.map((c) => c.e2eMs!)),
    start: latencySummary(ok.map((c) => c.phases.start ?? NaN)),
    newInstanceStart: latencySummary(ok.filter((c) => c.startPath !== 'warm').map((c) => c.phases.start ?? NaN)),
    paths,
    phasesByPath,
    perFunction,
    memory: {
      peakPssMB: Math.max(0, ...samples.map((s) => s.pssMB)),
      meanPssMB: mean(samples.map((s) => s.pssMB)),
      peakInstancesPssMB: Math.max(0, ...samples.map((s) => s.instancesPssMB)),
      meanInstancesPssMB: mean(samples.map((s) => s.instancesPssMB)),
      samples: samples.filter((_, i) => i % step === 0).map((s) => [Math.round(s.tMs), Math.round(s.pssMB * 10) / 10] as [number, number]),
      intervalMs: sampleMs,
    },
    cpuS: samples.length ? samples[samples.length - 1]!.cpuS : 0,
    errors,
  };
}

export interface HarnessOutput {
  results: Results;
  calls: Map<string, CallRecord[]>;
  files: string[];
}

export async function runHarness(o: HarnessOptions): Promise<HarnessOutput> {
  const startedAt = new Date().toISOString();
  fs.mkdirSync(o.outDir, { recursive: true });
  const catalog = allFunctions();
  const functionsMeta: Results['functions'] = [];
  const fns: BenchFunction[] = [];
  for (const name of o.functions) {
    const fn = catalog.find((f) => f.name === name);
    if (!fn) throw new Error(`unknown function ${name}; known: ${catalog.map((f) => f.name).join(', ')}`);
    const missing = missingDependencies(fn);
    functionsMeta.push({ name: fn.name, runtime: fn.runtime, ...(fn.trenv ? { trenv: fn.trenv } : {}), ...(missing ? { skipped: missing } : {}) });
    if (missing) o.log(`skipping ${fn.name}: ${missing}`);
    else fns.push(fn);
  }
  if (fns.length === 0) throw new Error('no runnable functions');
  for (const fn of [...fns]) for (let i = 2; i <= (o.copies ?? 1); i++) fns.push({ ...fn, name: `${fn.name}-${i}` });
  const zips = new Map<string, Buffer>();
  for (const fn of fns) zips.set(fn.name, await zipDirectory(fn.dir));
  const events = new Map<string, unknown>(fns.map((f) => [f.name, f.event]));
  const infos = fns.map(readManifest);

  const ttlMs = 10 * o.minuteMs;
  const scaleFor = (w: WorkloadName): WorkloadScale => ({ minuteMs: o.minuteMs, minutes: o.minutes[w], meanRatePerS: o.meanRatePerS });
  const workloads: Workload[] = [];
  const files: string[] = [];
  for (const w of o.workloads) {
    if (w === 'W1') workloads.push(bursty(infos, scaleFor(w), o.seed));
    else if (w === 'W2') {
      const w2 = diurnal(infos, scaleFor(w), o.seed);
      if (o.budgetMB) workloads.push({ ...w2, memoryBudgetMB: o.budgetMB, description: `${w2.description.replace(/, memory budget .*$/, '')}, memory budget ${o.budgetMB} MB (--budget-mb)${o.accounting ? `, instances charged by ${o.accounting} memory` : ''}` });
      else workloads.push(w2);
    }
    else {
      const trace = syntheticAzureTrace(120, o.seed);
      const traceFile = path.join(o.outDir, 'azure-trace.csv.gz');
      fs.writeFileSync(traceFile, zlib.gzipSync(azureTraceCsv(trace)));
      files.push(traceFile);
      workloads.push(traceReplay(trace, infos, scaleFor(w), o.seed));
    }
  }

  const systems = o.systems.map((name) => systemSpec(name, { ttlMs, sandbox: o.sandbox, pythonPreload: o.pythonPreload }));
  const systemsMeta: Results['systems'] = systems.map((s) => {
    const why = unavailable(s);
    if (why) o.log(`skipping system ${s.name}: ${why}`);
    return { name: s.name, kind: s.kind, description: s.description, config: { ...s.config }, ...(why ? { skipped: why } : {}) };
  });

  const runs: RunResult[] = [];
  const calls = new Map<string, CallRecord[]>();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-harness-'));
  trackDir(work);
  try {
    for (const [wi, workload] of workloads.entries()) {
      // The systems of a workload run one after the other; rotating the order per workload
      // keeps any drift of the shared machine from always favouring the same system.
      const order = systems.map((_, i) => systems[(i + wi) % systems.length]!);
      for (const base of order) {
        if (unavailable(base)) continue;
        if (o.signal?.aborted) throw o.signal.reason as Error;
        const spec: SystemSpec = { ...base, config: { ...base.config, ...(workload.memoryBudgetMB ? { memoryBudgetMB: workload.memoryBudgetMB } : {}), ...(o.accounting ? { memoryAccounting: o.accounting } : {}) } };
        const dataDir = path.join(work, `${spec.name}-${workload.name}`);
        const label = `${workload.name} × ${spec.name}`;
        o.log(`${label}: starting server`);
        const t0 = performance.now();
        const server = await startServer(spec, dataDir);
        let monitor: Monitor | undefined;
        try {
          for (const fn of fns) await deploy(server.url, zips.get(fn.name)!, fn);
          // Warm-up (TrEnv warms up before measuring): one call per function, all at once.
          const warm = await Promise.all(fns.map((fn) => invokeOnce(server.url, fn.name, fn.event, o.callTimeoutMs, o.signal)));
          const warmOk = warm.filter((r) => r.status === 'ok').length;
          for (const r of warm) if (r.status !== 'ok') o.log(`${label}: warm-up call of ${r.fn} failed: ${r.status} ${r.error ?? ''}`);
          monitor = new Monitor(server.child.pid!, dataDir, o.sampleMs);
          monitor.start();
          o.log(`${label}: ${workload.arrivals.length} calls over ${(workload.durationMs / 1000).toFixed(0)} s`);
          const records = await runOpenLoop({
            url: server.url,
            arrivals: workload.arrivals,
            events,
            callTimeoutMs: o.callTimeoutMs,
            drainMs: o.drainMs,
            ...(o.signal ? { signal: o.signal } : {}),
            onProgress: (done, sent, total) => o.log(`${label}: ${done}/${total} done, ${sent - done} in flight`),
          });
          monitor.stop();
          const run = summariseRun(spec.name, workload.name, records, monitor.samples, o.sampleMs, performance.now() - t0, { calls: fns.length, ok: warmOk });
          runs.push(run);
          calls.set(`${spec.name}\u0000${workload.name}`, records);
          const a = run.accounting;
          o.log(`${label}: ok ${a.ok}/${a.scheduled}, E2E P50 ${run.e2e.p50?.toFixed(1) ?? '-'} ms P99 ${run.e2e.p99?.toFixed(1) ?? '-'} ms, peak PSS ${run.memory.peakPssMB.toFixed(0)} MB, paths ${JSON.stringify(run.paths)}`);
        } catch (error) {
          throw new Error(`${label}: ${(error as Error).message}\nserver stderr: ${server.stderr().slice(-2000)}`);
        } finally {
          await stopServer(server, monitor);
          if (spec.crun) sweepCrunContainers(dataDir, o.log);
          removeDir(dataDir);
        }
      }
    }
  } finally {
    removeDir(work);
  }

  const callsFile = 'calls.jsonl.gz';
  const lines: string[] = [];
  for (const [key, list] of calls) {
    const [system, workload] = key.split('\u0000') as [string, string];
    for (const c of list) lines.push(JSON.stringify({ system, workload, ...c }));
  }
  fs.writeFileSync(path.join(o.outDir, callsFile), zlib.gzipSync(lines.join('\n') + (lines.length ? '\n' : '')));
  files.push(path.join(o.outDir, callsFile));

  const results = ResultsSchema.parse({
    schema: 'hearth-bench/1',
    mode: o.mode,
    seed: o.seed,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { ...machine(), sandbox: o.sandbox, pythonPreload: o.pythonPreload },
    scale: { minuteMs: o.minuteMs, ttlMs, meanRatePerS: o.meanRatePerS, callTimeoutMs: o.callTimeoutMs, drainMs: o.drainMs },
    functions: functionsMeta,
    systems: systemsMeta,
    workloads: workloads.map((w) => ({ name: w.name, description: w.description, durationMs: w.durationMs, arrivals: w.arrivals.length, ...(w.memoryBudgetMB ? { memoryBudgetMB: w.memoryBudgetMB } : {}) })),
    runs,
    callsFile,
  });
  const resultsFile = path.join(o.outDir, 'results.json');
  fs.writeFileSync(resultsFile, `${JSON.stringify(results, null, 1)}\n`);
  files.push(resultsFile, ...writeReport(results, calls, o.outDir));
  return { results, calls, files };
}

/** Re-renders report.md and the plots of an earlier run from its results.json and calls file. */
export function rerenderReport(outDir: string): string[] {
  const results = ResultsSchema.parse(JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8')));
  const calls = new Map<string, CallRecord[]>();
  const text = zlib.gunzipSync(fs.readFileSync(path.join(outDir, results.callsFile))).toString('utf8');
  for (const line of text.split('\n')) {
    if (!line) continue;
    const { system, workload, ...call } = CallLineSchema.parse(JSON.parse(line));
    const key = `${system}\u0000${workload}`;
    calls.set(key, [...(calls.get(key) ?? []), { ...call, phases: call.phases as CallRecord['phases'] }]);
  }
  return writeReport(results, calls, outDir);
}
