// Restore from the image tier vs cold vs fork, side by side (issue 6 item 5),
// through hearth's real start paths and HTTP API, sandboxed as hearth runs as root:
//   cold     a fresh runtime process in a fresh sandbox for every call (fork paths off)
//   fork     an instance forked on demand from a resident template (no spares)
//   restore  the template paged out to swap (MADV_PAGEOUT) before every call, then the
//            call: image record checked, working set prefetched (MADV_WILLNEED), fork
// Light and heavy init, both runtimes; calls interleaved path by path, --runs rounds.
// Also: the template's PSS resident and paged out, the image's disk (swap + record),
// and the working set. Creates a swap file in its temp data dir and removes it.
// Usage: npm run build && node dist/bench/restore.js [--runs N] [--functions a,b]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHearth, type RunningHearth } from '../src/main.js';
import { silentLogger } from '../src/log.js';
import { zipDirectory } from '../src/cli/zip-dir.js';
import { createSwapFile } from '../src/memory/swap.js';
import { readSmapsRollup } from '../src/memory/pss.js';
import { machine, markdownTable, summarize, writeResults, type Summary } from './lib/stats.js';
import { NODE_HEAVY, PY_HEAVY } from './image-tier.js';
import { serverTiming as timing, waitNoInstances } from './lib/calls.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i !== -1 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg('--runs') ?? 200);
const only = arg('--functions')?.split(',');

const FUNCTIONS = [
  { name: 'py-light', heavy: false, runtime: 'python3.11', handler: 'app.handler', files: { 'app.py': 'import json\ndef handler(event, context):\n    return {"ok": True, "k": json.dumps(event)}\n' } },
  { name: 'py-heavy', heavy: true, runtime: 'python3.11', handler: 'app.handler', files: { 'app.py': PY_HEAVY } },
  { name: 'node-light', heavy: false, runtime: 'nodejs20', handler: 'index.handler', files: { 'index.mjs': 'export const handler = async (event) => ({ ok: true, k: JSON.stringify(event) });\n' } },
  { name: 'node-heavy', heavy: true, runtime: 'nodejs20', handler: 'index.handler', files: { 'index.mjs': NODE_HEAVY } },
].filter((f) => !only || only.includes(f.name));

type Path = 'cold' | 'fork' | 'restore';

interface Cell {
  start: Summary;
  e2e: Summary;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root: sandboxes, swapon, process_madvise');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-restore-'));
  const swap = await createSwapFile(path.join(work, 'bench.swap'), 2048);
  const start = (name: string, overrides: Record<string, unknown>): Promise<RunningHearth> =>
    startHearth({ dataDir: path.join(work, name), port: 0, keepAliveMs: 0, memorySampleMs: 0, templateIdleMs: 0, ...overrides }, silentLogger());
  const coldH = await start('cold', { forkPaths: false });
  // One hearth per fast path, so that demoting before each restore never touches the fork cell's template.
  const forkH = await start('fork', { forkSpares: 0, pythonPreload: ['numpy'] });
  const restoreH = await start('restore', { forkSpares: 0, pythonPreload: ['numpy'] });
  const setups: Array<{ path: Path; h: RunningHearth; prepare(fn: string): Promise<void> }> = [
    { path: 'cold', h: coldH, prepare: (fn) => waitNoInstances(coldH, fn) },
    { path: 'fork', h: forkH, prepare: (fn) => waitNoInstances(forkH, fn) },
    {
      path: 'restore',
      h: restoreH,
      prepare: async (fn) => {
        await waitNoInstances(restoreH, fn);
        const t = restoreH.hearth.templates!.templateOf(fn)!;
        await restoreH.hearth.templates!.tier!.demote(t, 'memory');
      },
    },
  ];
  const results: Record<string, { paths: Record<Path, Cell>; memory: Record<string, number> }> = {};
  try {
    for (const fn of FUNCTIONS) {
      const dir = path.join(work, `fn-${fn.name}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify({ name: fn.name, runtime: fn.runtime, handler: fn.handler, memoryMB: 512, timeoutS: 60 }));
      for (const [f, c] of Object.entries(fn.files)) fs.writeFileSync(path.join(dir, f), c);
      const zip = await zipDirectory(dir);
      for (const s of setups) {
        await s.h.hearth.deploy(zip);
        await fetch(`${s.h.url}/function/${fn.name}`, { method: 'POST', body: '{}' }).then((r) => r.text());
      }
      // Memory of the restore setup's template: resident, then paged out (its image).
      await waitNoInstances(restoreH, fn.name);
      const template = restoreH.hearth.templates!.templateOf(fn.name)!;
      const resident = readSmapsRollup(template.processPid);
      await restoreH.hearth.templates!.tier!.demote(template, 'memory');
      const pagedOut = readSmapsRollup(template.processPid);
      const image = restoreH.hearth.tierOf(fn.name).template!;
      // The first restore records the working set; the measured ones prefetch it.
      await fetch(`${restoreH.url}/function/${fn.name}`, { method: 'POST', body: '{}' }).then((r) => r.text());

      const samples = new Map<Path, { start: number[]; e2e: number[] }>(setups.map((s) => [s.path, { start: [], e2e: [] }]));
      for (let i = 0; i < RUNS; i++) {
        for (const s of setups) {
          await s.prepare(fn.name);
          const t0 = performance.now();
          const r = await fetch(`${s.h.url}/function/${fn.name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"k": ${i % 50}}` });
          const body = await r.text();
          const e2e = performance.now() - t0;
          const taken = r.headers.get('x-hearth-start-path');
          if (taken !== s.path || r.headers.get('x-amz-function-error')) throw new Error(`${fn.name}: expected ${s.path}, got ${taken}: ${body}`);
          samples.get(s.path)!.start.push(timing(r.headers.get('server-timing'), 'start'));
          samples.get(s.path)!.e2e.push(e2e);
        }
        if (i % 50 === 0) process.stderr.write(`${fn.name}: ${i}/${RUNS}\n`);
      }
      const info = restoreH.hearth.tierOf(fn.name).template!;
      results[fn.name] = {
        paths: Object.fromEntries([...samples].map(([p, v]) => [p, { start: summarize(v.start), e2e: summarize(v.e2e) }])) as Record<Path, Cell>,
        memory: {
          templatePssResidentKB: resident?.pssKB ?? NaN,
          templateRssResidentKB: resident?.rssKB ?? NaN,
          templatePssPagedOutKB: pagedOut?.pssKB ?? NaN,
          templateRssPagedOutKB: pagedOut?.rssKB ?? NaN,
          imageDiskKB: Math.round(image.diskBytes / 1024),
          workingSetKB: Math.round((info.workingSetBytes ?? 0) / 1024),
        },
      };
    }
  } finally {
    for (const s of setups) await s.h.stop();
    await swap.close();
    fs.rmSync(work, { recursive: true, force: true });
  }

  const rows: Array<Array<string | number>> = [];
  for (const [fn, r] of Object.entries(results)) {
    const cold = r.paths.cold.start.p50;
    for (const p of ['cold', 'fork', 'restore'] as const) {
      const c = r.paths[p];
      rows.push([fn, p, c.start.n, c.start.p50, c.start.p99, c.e2e.p50, c.e2e.p99, cold / c.start.p50, p === 'restore' ? c.start.p50 / r.paths.fork.start.p50 : '']);
    }
  }
  const mb = (kb: number): string => (kb / 1024).toFixed(1);
  const memRows = Object.entries(results).map(([fn, r]) => [fn, mb(r.memory.templatePssResidentKB!), mb(r.memory.templatePssPagedOutKB!), mb(r.memory.templateRssPagedOutKB!), mb(r.memory.imageDiskKB!), mb(r.memory.workingSetKB!)]);
  const md = [
    '# Image tier: restore vs cold vs fork (HTTP end to end, sandboxed)',
    '',
    `${RUNS} calls per cell, the three paths interleaved call by call in one run. Machine: ${JSON.stringify(machine())}. ` +
      'Times in ms; "start" = request arrival to the handler\'s first line (server-reported). ' +
      'cold: a fresh runtime process in a fresh sandbox per call (fork paths off). fork: an instance forked on demand from a resident template (no spares). ' +
      'restore: before each call the template is paged out (process_madvise(MADV_PAGEOUT) to a 2 GB swap file); the call checks the image record (SHA-256, function/runtime version, process), prefetches the recorded working set (MADV_WILLNEED) and forks. ' +
      'Heavy init: Python imports numpy and builds ~20 MB of data plus a 300 ms init loop; Node.js builds a 300k-entry map and a 16 MB array plus a 300 ms loop. The Python zygote preloads numpy (as hearth is configured in the other benches).',
    '',
    markdownTable(['function', 'path', 'n', 'start P50', 'start P99', 'E2E P50', 'E2E P99', 'cold/path start P50', 'restore/fork start P50'], rows),
    '',
    '## Memory of a template and its image',
    '',
    markdownTable(['function', 'template PSS resident MB', 'template PSS paged out MB', 'RSS paged out MB', 'image disk MB (swap + record)', 'working set MB'], memRows),
  ].join('\n');
  writeResults('restore', { machine: machine(), runs: RUNS, date: new Date().toISOString(), results }, md);
  process.stdout.write(`${md}\n`);
}

await main();
