// Cold vs warm start latency per runtime, measured through the real HTTP API.
// Usage: npm run build && node dist/bench/cold-start.js [--runs N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHearth } from '../src/main.js';
import { silentLogger } from '../src/log.js';
import { zipDirectory } from '../src/cli/zip-dir.js';
import { machine, markdownTable, summarize, writeResults, type Summary } from './lib/stats.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg !== -1 ? Number(process.argv[runsArg + 1]) : 200;

const FUNCTIONS = [
  { name: 'bench-node', runtime: 'nodejs20', handler: 'index.handler', files: { 'index.mjs': 'export const handler = async (e) => ({ ok: true, n: e.n });' } },
  { name: 'bench-python', runtime: 'python3.11', handler: 'app.handler', files: { 'app.py': 'def handler(event, context):\n    return {"ok": True, "n": event.get("n")}\n' } },
];

interface Sample {
  e2eMs: number;
  startMs: number;
  processMs: number;
  initMs: number;
  path: string;
}

function timing(header: string | null, name: string): number {
  return Number(new RegExp(`${name};dur=([\\d.]+)`).exec(header ?? '')?.[1] ?? NaN);
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-'));
  // keepAliveMs 0: every instance stops right after its call, so each call is a cold start.
  const cold = await startHearth({ dataDir, port: 0, keepAliveMs: 0 }, silentLogger());
  const warmDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-'));
  const warm = await startHearth({ dataDir: warmDir, port: 0 }, silentLogger());
  const results: Record<string, { cold: Summary & { startP50: number; startP99: number; processP50: number; initP50: number }; warm: Summary; ratioP50: number; ratioP99: number }> = {};
  try {
    for (const fn of FUNCTIONS) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-fn-'));
      fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify({ name: fn.name, runtime: fn.runtime, handler: fn.handler }));
      for (const [f, c] of Object.entries(fn.files)) fs.writeFileSync(path.join(dir, f), c);
      const zip = await zipDirectory(dir);
      for (const h of [cold, warm]) await h.hearth.deploy(zip);
      const call = async (url: string, n: number): Promise<Sample> => {
        const t0 = performance.now();
        const r = await fetch(`${url}/function/${fn.name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) });
        await r.text();
        const e2eMs = performance.now() - t0;
        const st = r.headers.get('server-timing');
        return { e2eMs, startMs: timing(st, 'start'), processMs: timing(st, 'process'), initMs: timing(st, 'init'), path: r.headers.get('x-hearth-start-path') ?? '?' };
      };
      const coldSamples: Sample[] = [];
      const warmSamples: Sample[] = [];
      await call(warm.url, -1); // the warm side's first (cold) call
      // Interleave cold and warm calls so that machine noise hits both alike.
      for (let i = 0; i < RUNS; i++) {
        while (cold.hearth.scheduler.stats(fn.name)[0]!.instances.length > 0) await new Promise((r) => setTimeout(r, 2));
        const c = await call(cold.url, i);
        if (c.path !== 'cold') throw new Error(`expected a cold start, got ${c.path}`);
        coldSamples.push(c);
        const w = await call(warm.url, i);
        if (w.path !== 'warm') throw new Error(`expected a warm start, got ${w.path}`);
        warmSamples.push(w);
        if (i % 50 === 0) process.stderr.write(`${fn.name}: ${i}/${RUNS}\n`);
      }
      const c = summarize(coldSamples.map((s) => s.e2eMs));
      const w = summarize(warmSamples.map((s) => s.e2eMs));
      const start = summarize(coldSamples.map((s) => s.startMs));
      results[fn.runtime] = {
        cold: { ...c, startP50: start.p50, startP99: start.p99, processP50: summarize(coldSamples.map((s) => s.processMs)).p50, initP50: summarize(coldSamples.map((s) => s.initMs)).p50 },
        warm: w,
        ratioP50: c.p50 / w.p50,
        ratioP99: c.p99 / w.p99,
      };
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await cold.stop();
    await warm.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(warmDir, { recursive: true, force: true });
  }
  const rows = Object.entries(results).flatMap(([runtime, r]) => [
    [runtime, 'cold', r.cold.n, r.cold.p50, r.cold.p99, r.cold.startP50, r.cold.startP99, r.cold.processP50, r.cold.initP50],
    [runtime, 'warm', r.warm.n, r.warm.p50, r.warm.p99, '', '', '', ''],
  ]);
  const md = [
    '# Cold vs warm start (HTTP end to end, trivial function)',
    '',
    `Runs per cell: ${RUNS}, cold and warm interleaved in one run. Machine: ${JSON.stringify(machine())}. Times in ms.`,
    '',
    markdownTable(['runtime', 'path', 'n', 'E2E P50', 'E2E P99', 'start P50', 'start P99', 'process P50', 'init P50'], rows),
    '',
    markdownTable(['runtime', 'cold/warm E2E P50', 'cold/warm E2E P99'], Object.entries(results).map(([runtime, r]) => [runtime, r.ratioP50, r.ratioP99])),
  ].join('\n');
  writeResults('cold-start', { machine: machine(), runs: RUNS, date: new Date().toISOString(), results }, md);
  process.stdout.write(`${md}\n`);
}

await main();
