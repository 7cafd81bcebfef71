// Start latency per runtime through the real HTTP API, side by side in one run:
// hearth's cold path (fresh runtime process), a container per instance (crun,
// and runc where present) behind the same scheduler, and warm calls.
// Usage: npm run build && node dist/bench/cold-start.js [--runs N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHearth, type RunningHearth } from '../src/main.js';
import { silentLogger } from '../src/log.js';
import { zipDirectory } from '../src/cli/zip-dir.js';
import { REPO_ROOT } from '../src/config.js';
import { CrunStarter } from './baselines/crun-starter.js';
import { machine, markdownTable, summarize, writeResults } from './lib/stats.js';
import { serverTiming as timing } from './lib/calls.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg !== -1 ? Number(process.argv[runsArg + 1]) : 200;

const FUNCTIONS = [
  { name: 'bench-node', runtime: 'nodejs20', handler: 'index.handler', files: { 'index.mjs': 'export const handler = async (e) => ({ ok: true, n: e.n });' } },
  { name: 'bench-python', runtime: 'python3.11', handler: 'app.handler', files: { 'app.py': 'def handler(event, context):\n    return {"ok": True, "n": event.get("n")}\n' } },
];

interface System {
  name: string;
  expectPath: string;
  /** Stop instances after each call so that every call starts one. */
  coldEveryCall: boolean;
  running?: RunningHearth;
  dataDir: string;
}

interface Sample {
  e2eMs: number;
  startMs: number;
  sandboxMs: number;
  processMs: number;
  initMs: number;
}

async function main(): Promise<void> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-'));
  const runtimeDir = path.join(REPO_ROOT, 'runtimes');
  const systems: System[] = [
    { name: 'hearth cold (process per instance)', expectPath: 'cold', coldEveryCall: true, dataDir: path.join(workDir, 'cold') },
    ...(process.getuid?.() === 0 ? [{ name: 'hearth cold, sandboxed', expectPath: 'cold', coldEveryCall: true, dataDir: path.join(workDir, 'sandboxed') }] : []),
    { name: 'warm (keep-alive hit)', expectPath: 'warm', coldEveryCall: false, dataDir: path.join(workDir, 'warm') },
  ];
  const containerRuntimes = CrunStarter.available() ? ['crun', ...(CrunStarter.available('/usr/sbin/runc') ? ['runc'] : [])] : [];
  for (const oci of containerRuntimes) {
    systems.push({ name: `container per instance (${oci})`, expectPath: 'cold', coldEveryCall: true, dataDir: path.join(workDir, oci) });
  }
  for (const s of systems) {
    const oci = /\((crun|runc)\)/.exec(s.name)?.[1];
    s.running = await startHearth(
      { dataDir: s.dataDir, port: 0, keepAliveMs: s.coldEveryCall ? 0 : 600_000, forkPaths: false, sandbox: s.name.includes('sandboxed') },
      silentLogger(),
      oci
        ? (logs) =>
            new Map([
              ['cold', new CrunStarter({ runtimeDir, logs, workDir: path.join(workDir, `${oci}-bundles`), binary: oci === 'crun' ? '/usr/bin/crun' : '/usr/sbin/runc', hideUnifiedCgroup: oci === 'crun' })],
            ])
        : undefined,
    );
  }
  type Phases = Record<"e2e" | "start" | "sandbox" | "process" | "init", ReturnType<typeof summarize>>;
  const results: Record<string, Record<string, Phases>> = {};
  try {
    for (const fn of FUNCTIONS) {
      const dir = path.join(workDir, fn.name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify({ name: fn.name, runtime: fn.runtime, handler: fn.handler }));
      for (const [f, c] of Object.entries(fn.files)) fs.writeFileSync(path.join(dir, f), c);
      const zip = await zipDirectory(dir);
      const samples = new Map<System, Sample[]>(systems.map((s) => [s, []]));
      for (const s of systems) {
        await s.running!.hearth.deploy(zip);
        if (!s.coldEveryCall) await fetch(`${s.running!.url}/function/${fn.name}`, { method: 'POST', body: '{}' }).then((r) => r.text());
      }
      // Interleave the systems call by call so that machine noise hits all alike.
      for (let i = 0; i < RUNS; i++) {
        for (const s of systems) {
          if (s.coldEveryCall) {
            while (s.running!.hearth.scheduler.stats(fn.name)[0]!.instances.length > 0) await new Promise((r) => setTimeout(r, 2));
          }
          const t0 = performance.now();
          const r = await fetch(`${s.running!.url}/function/${fn.name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: i }) });
          const body = await r.text();
          const e2eMs = performance.now() - t0;
          const pathTaken = r.headers.get('x-hearth-start-path');
          if (pathTaken !== s.expectPath || r.headers.get('x-amz-function-error')) throw new Error(`${s.name}: expected a ${s.expectPath} start, got ${pathTaken}: ${body}`);
          const st = r.headers.get('server-timing');
          samples.get(s)!.push({ e2eMs, startMs: timing(st, 'start'), sandboxMs: timing(st, 'sandbox'), processMs: timing(st, 'process'), initMs: timing(st, 'init') });
        }
        if (i % 50 === 0) process.stderr.write(`${fn.name}: ${i}/${RUNS}\n`);
      }
      results[fn.runtime] = {};
      for (const [s, list] of samples) {
        results[fn.runtime]![s.name] = {
          e2e: summarize(list.map((x) => x.e2eMs)),
          start: summarize(list.map((x) => x.startMs)),
          sandbox: summarize(list.map((x) => x.sandboxMs)),
          process: summarize(list.map((x) => x.processMs)),
          init: summarize(list.map((x) => x.initMs)),
        };
      }
    }
  } finally {
    for (const s of systems) await s.running?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  const rows: Array<Array<string | number>> = [];
  const ratios: Array<Array<string | number>> = [];
  for (const [runtime, bySystem] of Object.entries(results)) {
    const cold = bySystem['hearth cold (process per instance)']!;
    for (const [name, r] of Object.entries(bySystem)) {
      rows.push([runtime, name, r.e2e.n, r.e2e.p50, r.e2e.p99, r.start.p50, r.start.p99, r.sandbox.p50, r.process.p50, r.init.p50]);
      ratios.push([runtime, name, r.e2e.p50 / cold.e2e.p50, r.e2e.p99 / cold.e2e.p99, r.start.p50 / cold.start.p50]);
    }
  }
  const md = [
    '# Start latency: cold process vs container per instance vs warm (HTTP end to end, trivial function)',
    '',
    `${RUNS} calls per cell, the systems interleaved call by call in one run. Machine: ${JSON.stringify(machine())}. Times in ms. ` +
      '"start" is request arrival until the handler\'s first line (reported by the instance). crun runs in a private mount namespace without the hybrid cgroup2 mount, which it refuses.',
    '',
    markdownTable(['runtime', 'system', 'n', 'E2E P50', 'E2E P99', 'start P50', 'start P99', 'sandbox P50', 'process P50', 'init P50'], rows),
    '',
    'Ratios to hearth cold (lower is faster):',
    '',
    markdownTable(['runtime', 'system', 'E2E P50 ratio', 'E2E P99 ratio', 'start P50 ratio'], ratios),
  ].join('\n');
  writeResults('cold-start', { machine: machine(), runs: RUNS, date: new Date().toISOString(), results }, md);
  process.stdout.write(`${md}\n`);
}

await main();
