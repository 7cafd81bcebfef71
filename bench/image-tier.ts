// The "template kept, memory paged out" tier, measured (issue 6 item 1).
// Python (heavy init: import numpy + ~300 ms of init building data), first call latency of:
//   cold           a new process per call (HEARTH_FORK=0)
//   fork           an instance forked from a resident template
//   pagedout       forked from a template whose memory was paged out (MADV_PAGEOUT to swap)
//   pagedout+ws    the same, after prefetching the working set recorded from an earlier
//                  instance's first call (MADV_WILLNEED through process_madvise)
// Node.js (no Node zygote in this tree yet): a warm instance resident vs paged out vs
// paged out + working-set prefetch, and a user-land V8 startup snapshot vs cold.
// Usage: npm run build && node dist/bench/image-tier.js [--runs N] [--swap-mb M]
// Needs root (process_madvise, swapon). Creates a swap file in a temp data dir and removes it.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHearth, type RunningHearth } from '../src/main.js';
import { silentLogger } from '../src/log.js';
import { zipDirectory } from '../src/cli/zip-dir.js';
import { createSwapFile, type SwapArea } from '../src/memory/swap.js';
import { pageOut, prefetch, residentPages, type WorkingSet } from '../src/memory/pageout.js';
import { readSmapsRollup, sampleAll } from '../src/memory/pss.js';
import { machine, markdownTable, summarize, writeResults, type Summary } from './lib/stats.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i !== -1 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 200);
const SWAP_MB = arg('--swap-mb', 2048);

export const PY_HEAVY = `import gc, os, time
import numpy as np
_t0 = time.perf_counter()
rng = np.random.default_rng(1)
DATA = rng.random((1500, 1500))
TABLE = {i: str(i) * 3 for i in range(200_000)}
_spins = 0
while time.perf_counter() - _t0 < 0.3:
    _spins += 1
# Python's cyclic GC in a forked child walks (and so copies, and pages in) every object of the template;
# freezing them keeps it to the objects the instance creates (HEARTH_GC_FREEZE=0 measures without).
if os.environ.get("HEARTH_GC_FREEZE", "1") == "1":
    gc.freeze()
def handler(event, context):
    k = int(event.get("k", 7))
    return {"sum": round(float(DATA[:100].sum()), 6), "t": TABLE[k], "n": len(TABLE), "dot": round(float(np.dot(DATA[1], DATA[2])), 6)}
`;

export const NODE_HEAVY = `const t0 = performance.now();
const table = new Map();
for (let i = 0; i < 300000; i++) table.set(i, String(i).repeat(3));
const data = new Float64Array(2_000_000).map((_, i) => Math.sin(i));
while (performance.now() - t0 < 300) {}
export const handler = async (event) => {
  let s = 0;
  for (let i = 0; i < 100000; i++) s += data[i];
  return { sum: Math.round(s * 1e6) / 1e6, t: table.get(event.k ?? 7), n: table.size };
};
`;

interface Cell {
  total: number[];
  start: number[];
  exec: number[];
}
const cell = (): Cell => ({ total: [], start: [], exec: [] });

async function deploy(h: RunningHearth, name: string, runtime: string, handler: string, files: Record<string, string>, work: string): Promise<void> {
  const dir = path.join(work, `fn-${name}-${Math.random().toString(36).slice(2)}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify({ name, runtime, handler, memoryMB: 512, timeoutS: 60 }));
  for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), c);
  await h.hearth.deploy(await zipDirectory(dir));
}

async function call(h: RunningHearth, name: string, into: Cell | undefined, expect?: string, path?: string): Promise<string> {
  const r = await h.hearth.invoke(name, '{"k": 11}');
  if (!r.outcome.ok) throw new Error(`${name}: ${JSON.stringify(r.outcome.error)}`);
  if (path !== undefined && r.startPath !== path) throw new Error(`${name}: start path ${r.startPath}, expected ${path}`);
  const payload = r.outcome.payload ?? '';
  if (expect !== undefined && payload !== expect) throw new Error(`${name}: result differs: ${payload} vs ${expect}`);
  if (into) {
    into.total.push(r.timings.totalMs);
    into.start.push(r.timings.startMs);
    into.exec.push(r.timings.execMs);
  }
  return payload;
}

/** Stops every instance of `name` (after reading what it needs). */
async function dropInstances(h: RunningHearth, name: string): Promise<void> {
  await h.hearth.scheduler.removeFunction(name);
}

function instancePid(h: RunningHearth, name: string): number {
  const i = h.hearth.scheduler.stats(name)[0]?.instances[0];
  if (!i) throw new Error(`${name}: no instance`);
  return i.pid;
}

/** The ranges of `ws` that `touched` also has, in pages (how much of the next call's working set was prefetched). */
function overlap(ws: WorkingSet, touched: WorkingSet): number {
  const pages = new Set<number>();
  for (let i = 0; i < ws.ranges.length; i += 2) for (let a = ws.ranges[i]!; a < ws.ranges[i]! + ws.ranges[i + 1]!; a += 4096) pages.add(a);
  let hit = 0;
  for (let i = 0; i < touched.ranges.length; i += 2) for (let a = touched.ranges[i]!; a < touched.ranges[i]! + touched.ranges[i + 1]!; a += 4096) if (pages.has(a)) hit += 1;
  return hit;
}

async function pythonCells(work: string, runs: number): Promise<Record<string, unknown>> {
  const start = (name: string, overrides: Record<string, unknown>): Promise<RunningHearth> => startHearth({ dataDir: path.join(work, name), port: 0, memorySampleMs: 0, forkSpares: 0, ...overrides }, silentLogger());
  const coldH = await start('py-cold', { keepAliveMs: 0, forkPaths: false, sandbox: false });
  // keepAlive > 0: the instance stays after its call so that its pagemap can be read; dropInstances() stops it.
  const forkH = await start('py-fork', { keepAliveMs: 600_000, sandbox: false });
  const fn = 'pyheavy';
  const cells = { cold: cell(), fork: cell(), pagedout: cell(), 'pagedout+ws': cell() };
  const template = { pssKB: [] as number[], rssKB: [] as number[], pssAfterKB: [] as number[], rssAfterKB: [] as number[], swapAfterKB: [] as number[], pageoutMs: [] as number[], prefetchMs: [] as number[], wsPages: [] as number[], touchedPages: [] as number[], wsHitPages: [] as number[], prefetchSkipped: [] as number[] };
  try {
    await deploy(coldH, fn, 'python3.11', 'app.handler', { 'app.py': PY_HEAVY }, work);
    await deploy(forkH, fn, 'python3.11', 'app.handler', { 'app.py': PY_HEAVY }, work);
    const version = forkH.hearth.registry.get(fn);
    const templates = forkH.hearth.templates!;
    const expected = await call(coldH, fn, undefined);
    let ws: WorkingSet | undefined;
    const freshTemplate = async (): Promise<number> => {
      templates.retire(fn);
      const t = await templates.templateFor(version);
      return t.pid;
    };
    for (let i = 0; i < runs; i++) {
      // cold
      await dropInstances(coldH, fn);
      await call(coldH, fn, cells.cold, expected, 'cold');
      // fork from a resident template (the template of the previous step, or a fresh one)
      await dropInstances(forkH, fn);
      await freshTemplate();
      await call(forkH, fn, cells.fork, expected, 'fork');
      await dropInstances(forkH, fn);
      // paged out: a fresh template (its swap cache is cold), paged out, then a fork.
      let tpid = await freshTemplate();
      const before = readSmapsRollup(tpid)!;
      const po = pageOut(tpid);
      template.pssKB.push(before.pssKB);
      template.rssKB.push(before.rssKB);
      template.pssAfterKB.push(po.after!.pssKB);
      template.rssAfterKB.push(po.after!.rssKB);
      template.swapAfterKB.push(po.after!.swapKB);
      template.pageoutMs.push(po.ms);
      await call(forkH, fn, cells.pagedout, expected, 'fork');
      // Record the working set: what the instance has resident after its first call.
      ws = residentPages(instancePid(forkH, fn));
      await dropInstances(forkH, fn);
      // paged out + working-set prefetch (the working set recorded from the previous template: same layout).
      tpid = await freshTemplate();
      pageOut(tpid);
      const t0 = performance.now();
      const pf = prefetch(tpid, ws);
      const pfMs = performance.now() - t0;
      await call(forkH, fn, cells['pagedout+ws'], expected, 'fork');
      const touched = residentPages(instancePid(forkH, fn));
      template.prefetchMs.push(pfMs);
      template.prefetchSkipped.push(pf.skippedRanges);
      template.wsPages.push(ws.pages);
      template.touchedPages.push(touched.pages);
      template.wsHitPages.push(overlap(ws, touched));
      // The prefetch time is on the request's path (it runs when the request arrives): add it.
      const last = cells['pagedout+ws'].total.length - 1;
      cells['pagedout+ws'].total[last]! += pfMs;
      cells['pagedout+ws'].start[last]! += pfMs;
      await dropInstances(forkH, fn);
      if ((i + 1) % 10 === 0) process.stderr.write(`python ${i + 1}/${runs}\n`);
    }
  } finally {
    await coldH.stop();
    await forkH.stop();
  }
  return { cells: Object.fromEntries(Object.entries(cells).map(([k, c]) => [k, { total: summarize(c.total), start: summarize(c.start), exec: summarize(c.exec) }])), template: Object.fromEntries(Object.entries(template).map(([k, v]) => [k, summarize(v)])) };
}

async function nodeCells(work: string, runs: number): Promise<Record<string, unknown>> {
  const h = await startHearth({ dataDir: path.join(work, 'node'), port: 0, memorySampleMs: 0, keepAliveMs: 600_000, forkPaths: false, sandbox: false }, silentLogger());
  const fn = 'nodeheavy';
  const cells = { cold: cell(), warm: cell(), 'warm-pagedout': cell(), 'warm-pagedout+ws': cell() };
  const mem = { pssKB: [] as number[], pssAfterKB: [] as number[], rssAfterKB: [] as number[], pageoutMs: [] as number[], prefetchMs: [] as number[], wsPages: [] as number[] };
  try {
    await deploy(h, fn, 'nodejs20', 'index.handler', { 'index.mjs': NODE_HEAVY }, work);
    const expected = await call(h, fn, undefined);
    await dropInstances(h, fn);
    for (let i = 0; i < runs; i++) {
      await call(h, fn, cells.cold, expected, 'cold');
      const pid = instancePid(h, fn);
      await call(h, fn, cells.warm, expected, 'warm');
      mem.pssKB.push(readSmapsRollup(pid)!.pssKB);
      const po = pageOut(pid);
      mem.pssAfterKB.push(po.after!.pssKB);
      mem.rssAfterKB.push(po.after!.rssKB);
      mem.pageoutMs.push(po.ms);
      await call(h, fn, cells['warm-pagedout'], expected, 'warm');
      // What the call brought back in is its working set.
      const ws = residentPages(pid);
      pageOut(pid);
      const t0 = performance.now();
      prefetch(pid, ws);
      const pfMs = performance.now() - t0;
      await call(h, fn, cells['warm-pagedout+ws'], expected, 'warm');
      const last = cells['warm-pagedout+ws'].total.length - 1;
      cells['warm-pagedout+ws'].total[last]! += pfMs;
      cells['warm-pagedout+ws'].start[last]! += pfMs;
      mem.prefetchMs.push(pfMs);
      mem.wsPages.push(ws.pages);
      await dropInstances(h, fn);
      if ((i + 1) % 10 === 0) process.stderr.write(`node ${i + 1}/${runs}\n`);
    }
  } finally {
    await h.stop();
  }
  return { cells: Object.fromEntries(Object.entries(cells).map(([k, c]) => [k, { total: summarize(c.total), start: summarize(c.start), exec: summarize(c.exec) }])), memory: Object.fromEntries(Object.entries(mem).map(([k, v]) => [k, summarize(v)])) };
}

// A Node.js user-land startup snapshot (node --build-snapshot) of the same heavy init, vs running it cold.
// 'heap': the init builds a large heap (the snapshot must deserialize it); 'cpu': 300 ms of CPU for a small result.
const SNAPSHOT_CPU = `const v8 = require('node:v8');
const t0 = performance.now();
let table = [];
let x = 1;
while (performance.now() - t0 < 300) { for (let i = 0; i < 10000; i++) x = (x * 48271) % 2147483647; }
for (let i = 0; i < 1000; i++) { x = (x * 48271) % 2147483647; table.push(x); }
table = [];
for (let i = 0; i < 1000; i++) table.push(i * i);
function handler(event) { return { v: table[event.k ?? 7], n: table.length }; }
function main() { process.stdout.write(JSON.stringify(handler({ k: 11 })) + '\\n'); }
if (v8.startupSnapshot?.isBuildingSnapshot()) v8.startupSnapshot.setDeserializeMainFunction(main);
else main();
`;
const SNAPSHOT_ENTRY = `const v8 = require('node:v8');
const t0 = performance.now();
const table = new Map();
for (let i = 0; i < 300000; i++) table.set(i, String(i).repeat(3));
const data = new Float64Array(2_000_000).map((_, i) => Math.sin(i));
while (performance.now() - t0 < 300) {}
function handler(event) {
  let s = 0;
  for (let i = 0; i < 100000; i++) s += data[i];
  return { sum: Math.round(s * 1e6) / 1e6, t: table.get(event.k ?? 7), n: table.size };
}
function main() { process.stdout.write(JSON.stringify(handler({ k: 11 })) + '\\n'); }
if (v8.startupSnapshot?.isBuildingSnapshot()) v8.startupSnapshot.setDeserializeMainFunction(main);
else main();
`;

function runOnce(args: string[], cwd: string): Promise<{ ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve({ ms: performance.now() - t0, out: out.trim() }) : reject(new Error(`exit ${code}`))));
  });
}

async function snapshotCells(work: string, runs: number, source: string, label: string): Promise<Record<string, unknown>> {
  const dir = path.join(work, `snapshot-${label}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'entry.js'), source);
  const t0 = performance.now();
  execFileSync(process.execPath, ['--snapshot-blob', 'snap.blob', '--build-snapshot', 'entry.js'], { cwd: dir, stdio: 'inherit' });
  const buildMs = performance.now() - t0;
  const blobBytes = fs.statSync(path.join(dir, 'snap.blob')).size;
  const cold: number[] = [];
  const snap: number[] = [];
  const baseline: number[] = [];
  fs.writeFileSync(path.join(dir, 'empty.js'), '');
  let a = '';
  let b = '';
  for (let i = 0; i < runs; i++) {
    const c = await runOnce(['entry.js'], dir);
    const s = await runOnce(['--snapshot-blob', 'snap.blob'], dir);
    baseline.push((await runOnce(['empty.js'], dir)).ms);
    cold.push(c.ms);
    snap.push(s.ms);
    a = c.out;
    b = s.out;
  }
  if (a !== b) throw new Error(`snapshot result differs: ${a} vs ${b}`);
  return { buildMs, blobBytes, cold: summarize(cold), snapshot: summarize(snap), emptyNode: summarize(baseline), sameResult: a === b };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (process_madvise of other processes, swapon)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-tier-'));
  let swap: SwapArea | undefined;
  const cleanup = async (): Promise<void> => {
    await swap?.close();
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    swap = await createSwapFile(path.join(work, 'swap', 'bench.swap'), SWAP_MB);
    const smapsCost = measureSmapsCost();
    const python = await pythonCells(work, RUNS);
    const node = await nodeCells(work, RUNS);
    const snapshot = { heap: await snapshotCells(work, Math.min(RUNS, 50), SNAPSHOT_ENTRY, 'heap'), cpu: await snapshotCells(work, Math.min(RUNS, 50), SNAPSHOT_CPU, 'cpu') };
    const results = { machine: machine(), runs: RUNS, date: new Date().toISOString(), swapMB: SWAP_MB, smapsCost, python, node, snapshot };
    writeResults('image-tier', results, markdown(results));
  } finally {
    await cleanup();
  }
}

/** Cost of one smaps_rollup read per pid (the agent, and a python3 and a node process). */
function measureSmapsCost(): Record<string, number> {
  const py = spawn('/usr/bin/python3', ['-c', 'import numpy, time; time.sleep(30)'], { stdio: 'ignore' });
  const nd = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  const t = Date.now();
  while (Date.now() - t < 1500) {
    /* let them load */
  }
  const pids = [process.pid, py.pid!, nd.pid!];
  const per: Record<string, number> = {};
  for (const [label, pid] of [['agent', process.pid], ['python3+numpy', py.pid!], ['node', nd.pid!]] as const) {
    const n = 500;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) readSmapsRollup(pid);
    per[`${label}_us`] = ((performance.now() - t0) * 1000) / n;
  }
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) sampleAll(pids);
  per.three_pids_us = ((performance.now() - t0) * 1000) / 200;
  py.kill('SIGKILL');
  nd.kill('SIGKILL');
  return per;
}

function markdown(r: { runs: number; swapMB: number; smapsCost: Record<string, number>; python: Record<string, unknown>; node: Record<string, unknown>; snapshot: Record<string, unknown> }): string {
  const row = (name: string, c: { total: Summary; start: Summary; exec: Summary }, ref?: { total: Summary }): Array<string | number> => [
    name,
    c.total.n,
    c.total.p50,
    c.total.p90,
    c.total.p99,
    c.start.p50,
    c.exec.p50,
    ref ? `${(ref.total.p50 / c.total.p50).toFixed(1)}×` : '',
  ];
  const py = r.python as { cells: Record<string, { total: Summary; start: Summary; exec: Summary }>; template: Record<string, Summary> };
  const nd = r.node as { cells: Record<string, { total: Summary; start: Summary; exec: Summary }>; memory: Record<string, Summary> };
  type Snap = { buildMs: number; blobBytes: number; cold: Summary; snapshot: Summary; emptyNode: Summary };
  const sns = r.snapshot as { heap: Snap; cpu: Snap };
  const kb = (s: Summary | undefined): string => (s ? `${(s.p50 / 1024).toFixed(1)} MB` : '');
  const header = ['path', 'n', 'first call p50', 'p90', 'p99', 'start p50', 'exec p50', 'vs cold (p50)'];
  return [
    '# Image tier: paged-out templates (issue 6 item 1)',
    '',
    `Machine: ${JSON.stringify(machine())}. Swap: a ${r.swapMB} MB swap file on the VM's disk, created and removed by the bench. ${r.runs} runs per cell, cells interleaved run by run. Times in ms. ` +
      '"first call" = the whole first invocation (request → result, in-process `Hearth.invoke`), so page faults during the handler count; "start" = arrival → handler\'s first line; "exec" = handler time. ' +
      'For +ws the prefetch (process_madvise MADV_WILLNEED of the recorded working set, issued when the request arrives) is added to first call and start.',
    '',
    '## Python: import numpy + ~450 ms init (18 MB array, 200k-entry dict); no numpy preload in the zygote',
    '',
    'Each paged-out run uses a fresh template (a swapped-in page stays in the swap cache after the instance exits, so re-paging one template would measure the swap cache).',
    '',
    markdownTable(header, [row('cold', py.cells.cold!), row('fork (resident template)', py.cells.fork!, py.cells.cold), row('fork, template paged out', py.cells.pagedout!, py.cells.cold), row('fork, paged out + ws prefetch', py.cells['pagedout+ws']!, py.cells.cold)]),
    '',
    markdownTable(
      ['template memory (p50)', 'value'],
      [
        ['RSS resident', kb(py.template.rssKB)],
        ['PSS resident', kb(py.template.pssKB)],
        ['RSS paged out', kb(py.template.rssAfterKB)],
        ['PSS paged out', kb(py.template.pssAfterKB)],
        ['swap used by it', kb(py.template.swapAfterKB)],
        ['pageout time', `${py.template.pageoutMs!.p50.toFixed(1)} ms`],
        ['prefetch call time', `${py.template.prefetchMs!.p50.toFixed(2)} ms`],
        ['working set (pages)', String(py.template.wsPages!.p50)],
        ['pages the call had resident (pages)', String(py.template.touchedPages!.p50)],
        ['of them prefetched', String(py.template.wsHitPages!.p50)],
        ['prefetch ranges skipped (ENOMEM/EINVAL)', String(py.template.prefetchSkipped!.p50)],
      ],
    ),
    '',
    '## Node.js: warm instance paged out (no Node zygote in this tree yet: no fork path to measure)',
    '',
    'Node function: 300k-entry Map + 16 MB Float64Array + spin to 300 ms of init. Cold = a new process; warm = the idle instance; paged out = the idle instance after MADV_PAGEOUT; +ws = after pageout, the pages of its last call prefetched.',
    '',
    markdownTable(header, [row('cold', nd.cells.cold!), row('warm (resident)', nd.cells.warm!, nd.cells.cold), row('warm, paged out', nd.cells['warm-pagedout']!, nd.cells.cold), row('warm, paged out + ws prefetch', nd.cells['warm-pagedout+ws']!, nd.cells.cold)]),
    '',
    markdownTable(
      ['instance memory (p50)', 'value'],
      [
        ['PSS resident', kb(nd.memory.pssKB)],
        ['PSS paged out', kb(nd.memory.pssAfterKB)],
        ['RSS paged out', kb(nd.memory.rssAfterKB)],
        ['pageout time', `${nd.memory.pageoutMs!.p50.toFixed(1)} ms`],
        ['working set (pages)', String(nd.memory.wsPages!.p50)],
      ],
    ),
    '',
    '## Node.js user-land startup snapshot (node --build-snapshot)',
    '',
    'Each init as a single CommonJS script (a user-land snapshot entry may require() only built-in modules: user code and npm packages must be bundled into it; native addons, open handles (sockets, files, timers) and worker threads cannot be in a snapshot). Process spawn → result on stdout.',
    '',
    markdownTable(
      ['init', 'blob', 'build', 'n', 'cold p50', 'cold p90', 'snapshot p50', 'snapshot p90', 'empty node p50'],
      ([['heap: 300k-entry Map + 16 MB Float64Array', sns.heap], ['cpu: 300 ms of computation, small result', sns.cpu]] as const).map(([name, sn]) => [name, `${(sn.blobBytes / 2 ** 20).toFixed(1)} MB`, `${sn.buildMs.toFixed(0)} ms`, sn.cold.n, sn.cold.p50, sn.cold.p90, sn.snapshot.p50, sn.snapshot.p90, sn.emptyNode.p50]),
    ),
    '',
    '## smaps_rollup cost (memory accounting)',
    '',
    markdownTable(['what', 'µs per read'], Object.entries(r.smapsCost).map(([k, v]) => [k, v])),
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
