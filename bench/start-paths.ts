// Start paths side by side, per runtime and function, all sandboxed as hearth runs
// them (as root): cold (a fresh runtime process in a fresh sandbox), repurpose
// (zygote → pooled shell → new template → instance), fork (instance forked from a
// resident template on demand), fork-spare (the instance the template forked ahead
// of demand), warm (idle instance); for reference a crun container per call and
// the unsandboxed cold and fork paths. Through the real HTTP API; every path forced
// by the setup of its own hearth, calls interleaved across paths.
// Usage: npm run build && node dist/bench/start-paths.js [--runs N] [--heavy-runs N] [--functions a,b]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHearth, type RunningHearth } from '../src/main.js';
import { silentLogger } from '../src/log.js';
import { zipDirectory } from '../src/cli/zip-dir.js';
import { machine, markdownTable, summarize, writeResults } from './lib/stats.js';
import { REPO_ROOT } from '../src/sandbox/native.js';
import { readSmapsRollup } from '../src/instances/instance.js';
import { CrunStarter } from './baselines/crun-starter.js';
import { serverTiming as timing, waitNoInstances } from './lib/calls.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg !== -1 ? Number(process.argv[runsArg + 1]) : 300;
// Heavy-init functions take seconds per round on the cold paths: fewer rounds (--heavy-runs, default = --runs).
const heavyArg = process.argv.indexOf('--heavy-runs');
const HEAVY_RUNS = heavyArg !== -1 ? Number(process.argv[heavyArg + 1]) : RUNS;

const FUNCTIONS = [
  { name: 'py-trivial', runtime: 'python3.11', handler: 'app.handler', files: { 'app.py': 'def handler(event, context):\n    return {"ok": True}\n' } },
  {
    name: 'py-numpy',
    heavy: true,
    runtime: 'python3.11',
    handler: 'app.handler',
    files: { 'app.py': 'import numpy as np\nM = np.random.default_rng(1).random((200, 200))\ndef handler(event, context):\n    return {"trace": float(np.trace(M))}\n' },
  },
  { name: 'node-trivial', runtime: 'nodejs20', handler: 'index.handler', files: { 'index.mjs': 'export const handler = async () => ({ ok: true });' } },
  {
    // A heavy init: the TypeScript compiler (9 MB of JavaScript, hearth's own dev dependency, shipped in the function's node_modules), warmed up at init.
    name: 'node-typescript',
    heavy: true,
    runtime: 'nodejs20',
    handler: 'index.handler',
    files: {
      'index.mjs': [
        "import ts from 'typescript';",
        "const options = { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } };",
        "ts.transpileModule('const greet = (name: string): string => `hi ${name}`;', options);",
        "export const handler = async () => ({ ok: true, js: ts.transpileModule('export const x: number = 1;', options).outputText.length });",
      ].join('\n'),
      'node_modules/typescript/package.json': JSON.stringify({ name: 'typescript', version: '0.0.0-bench', main: 'lib/typescript.js' }),
      'node_modules/typescript/lib/typescript.js': fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'typescript', 'lib', 'typescript.js'), 'utf8'),
    },
  },
];
const only = process.argv.indexOf('--functions') !== -1 ? process.argv[process.argv.indexOf('--functions') + 1]!.split(',') : undefined;

type Path = 'cold' | 'crun' | 'repurpose' | 'fork' | 'fork-spare' | 'warm' | 'cold-plain' | 'fork-plain';
/** The start path each setup's calls must report. */
const REPORTED: Record<Path, string> = { cold: 'cold', crun: 'cold', repurpose: 'repurpose', fork: 'fork', 'fork-spare': 'fork', warm: 'warm', 'cold-plain': 'cold', 'fork-plain': 'fork' };
const FORKING: Path[] = ['repurpose', 'fork', 'fork-spare', 'fork-plain'];

interface Setup {
  path: Path;
  hearth: RunningHearth;
  /** Before each call: make sure the wanted path is the one taken. */
  prepare(fn: string): Promise<void>;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-paths-'));
  const start = (name: string, overrides: Record<string, unknown>): Promise<RunningHearth> => startHearth({ dataDir: path.join(work, name), port: 0, ...overrides }, silentLogger());
  const root = process.getuid?.() === 0;
  const sandbox = root;
  const runtimeDir = path.join(REPO_ROOT, 'runtimes');
  const pre = { pythonPreload: ['numpy'] };
  const coldH = await start('cold', { keepAliveMs: 0, forkPaths: false, sandbox });
  const crunH = root && CrunStarter.available()
    ? await startHearth({ dataDir: path.join(work, 'crun'), port: 0, keepAliveMs: 0, forkPaths: false, sandbox: false }, silentLogger(), (logs) =>
        new Map([['cold', new CrunStarter({ runtimeDir, logs, workDir: path.join(work, 'crun-bundles'), binary: '/usr/bin/crun', hideUnifiedCgroup: true })]]))
    : undefined;
  const repurposeH = await start('repurpose', { keepAliveMs: 0, sandbox, forkSpares: 0, ...pre });
  const forkH = await start('fork', { keepAliveMs: 0, sandbox, forkSpares: 0, ...pre });
  const spareH = await start('fork-spare', { keepAliveMs: 0, sandbox, forkSpares: 1, ...pre });
  const warmH = await start('warm', { sandbox });
  const plainColdH = sandbox ? await start('cold-plain', { keepAliveMs: 0, forkPaths: false, sandbox: false }) : undefined;
  const plainForkH = sandbox ? await start('fork-plain', { keepAliveMs: 0, sandbox: false, forkSpares: 0, ...pre }) : undefined;
  /** The spare is forked in the background after each call: wait until it is there. */
  const spareReady = async (fn: string): Promise<void> => {
    await waitNoInstances(spareH, fn);
    for (let i = 0; i < 2000 && !spareH.hearth.templates?.spareInstances().some((x) => x.fn.name === fn); i++) await new Promise((r) => setTimeout(r, 1));
  };
  const setups: Setup[] = [
    { path: 'cold', hearth: coldH, prepare: (fn) => waitNoInstances(coldH, fn) },
    ...(crunH ? [{ path: 'crun' as Path, hearth: crunH, prepare: (fn: string) => waitNoInstances(crunH, fn) }] : []),
    { path: 'repurpose', hearth: repurposeH, prepare: async (fn) => {
      await waitNoInstances(repurposeH, fn);
      repurposeH.hearth.templates?.retire(fn);
    } },
    { path: 'fork', hearth: forkH, prepare: (fn) => waitNoInstances(forkH, fn) },
    { path: 'fork-spare', hearth: spareH, prepare: spareReady },
    { path: 'warm', hearth: warmH, prepare: async () => undefined },
    ...(plainColdH ? [{ path: 'cold-plain' as Path, hearth: plainColdH, prepare: (fn: string) => waitNoInstances(plainColdH, fn) }] : []),
    ...(plainForkH ? [{ path: 'fork-plain' as Path, hearth: plainForkH, prepare: (fn: string) => waitNoInstances(plainForkH, fn) }] : []),
  ];
  const results: Record<string, Record<string, { e2e: ReturnType<typeof summarize>; start: ReturnType<typeof summarize>; pssKB?: number; ussKB?: number; incrementalPssKB?: number; templatePssKB?: number }>> = {};
  try {
    for (const fn of FUNCTIONS.filter((f) => only === undefined || only.includes(f.name))) {
      const dir = path.join(work, `fn-${fn.name}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify({ name: fn.name, runtime: fn.runtime, handler: fn.handler }));
      for (const [f, c] of Object.entries(fn.files)) {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), c);
      }
      const zip = await zipDirectory(dir);
      const active = setups.filter((s) => !FORKING.includes(s.path) || s.hearth.hearth.templates?.zygotes.has(fn.runtime as 'python3.11'));
      for (const s of active) {
        await s.hearth.hearth.deploy(zip);
        await fetch(`${s.hearth.url}/function/${fn.name}`, { method: 'POST', body: '{}' }).then((r) => r.text()); // template / warm instance
      }
      const samples = new Map<Path, { e2e: number[]; start: number[] }>(active.map((s) => [s.path, { e2e: [], start: [] }]));
      const runs = 'heavy' in fn && fn.heavy ? HEAVY_RUNS : RUNS;
      for (let i = 0; i < runs; i++) {
        for (const s of active) {
          await s.prepare(fn.name);
          const t0 = performance.now();
          const r = await fetch(`${s.hearth.url}/function/${fn.name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
          const body = await r.text();
          const e2e = performance.now() - t0;
          const taken = r.headers.get('x-hearth-start-path');
          if (taken !== REPORTED[s.path] || r.headers.get('x-amz-function-error')) throw new Error(`${fn.name}: expected ${s.path}, got ${taken}: ${body}`);
          samples.get(s.path)!.e2e.push(e2e);
          samples.get(s.path)!.start.push(timing(r.headers.get('server-timing'), 'start'));
        }
        if (i % 100 === 0) process.stderr.write(`${fn.name}: ${i}/${runs}\n`);
      }
      results[fn.name] = {};
      for (const [p, v] of samples) results[fn.name]![p] = { e2e: summarize(v.e2e), start: summarize(v.start) };
      // Incremental memory of a forked instance: PSS of idle instances forked from one template.
      const forkSetup = active.find((s) => s.path === 'fork');
      if (forkSetup) {
        const h = await startHearth({ dataDir: path.join(work, `pss-${fn.name}`), port: 0, keepAliveMs: 600_000, sandbox, forkSpares: 0, pythonPreload: ['numpy'] }, silentLogger());
        const version = await h.hearth.deploy(zip);
        // The template alone first (its PSS before any fork), then 8 idle instances forked from it.
        const template = await h.hearth.templates!.templateFor(version);
        const templateBefore = readSmapsRollup(template.processPid)?.pssKB ?? NaN;
        const calls = await Promise.all(Array.from({ length: 8 }, () => fetch(`${h.url}/function/${fn.name}`, { method: 'POST', body: '{}' }).then((r) => r.text())));
        void calls;
        const instances = h.hearth.scheduler.stats(fn.name)[0]!.instances;
        const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
        const pss = instances.map((x) => x.pssKB ?? 0);
        const templateAfter = readSmapsRollup(template.processPid)?.pssKB ?? NaN;
        const r = results[fn.name]!.fork!;
        r.pssKB = mean(pss);
        r.ussKB = mean(instances.map((x) => x.ussKB ?? 0));
        // What each instance adds to the machine: (template + instances after) − template before, per instance.
        r.incrementalPssKB = (templateAfter + pss.reduce((a, b) => a + b, 0) - templateBefore) / Math.max(1, pss.length);
        r.templatePssKB = templateBefore;
        await h.stop();
      }
    }
  } finally {
    for (const s of setups) await s.hearth.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const rows: Array<Array<string | number>> = [];
  for (const [fn, byPath] of Object.entries(results)) {
    const cold = byPath.cold!; // the sandboxed cold start
    for (const [p, r] of Object.entries(byPath)) {
      const mb = (kb: number | undefined): string => (kb !== undefined ? (kb / 1024).toFixed(1) : '');
      rows.push([fn, p, r.e2e.n, r.start.p50, r.start.p99, r.e2e.p50, r.e2e.p99, cold.start.p50 / r.start.p50, mb(r.pssKB), mb(r.ussKB), mb(r.incrementalPssKB), mb(r.templatePssKB)]);
    }
  }
  const md = [
    '# Start paths side by side (HTTP end to end)',
    '',
    `${RUNS} calls per cell (heavy-init functions: ${HEAVY_RUNS}; see n), paths interleaved call by call in one run. Machine: ${JSON.stringify(machine())}. Times in ms; "start" = request arrival to the handler's first line. ` +
      'PSS: mean proportional set size of 8 idle instances forked from one template; USS: their private memory; incremental PSS: (PSS of the template and the 8 instances) minus the template\'s PSS before the forks, per instance (read from /proc/<pid>/smaps_rollup). ' +
      'Every path but crun, cold-plain and fork-plain runs sandboxed (as hearth does as root): cold = a shell from the pool + hearth-enter; repurpose = a pooled shell, the zygote forks a template into it (template mode of the sequence), then the instance; fork = an instance forked on demand into its own pid/mount/net namespace with a private /tmp; fork-spare = the instance its template forked ahead of demand (HEARTH_FORK_SPARES=1). crun: a crun container per call (bench/baselines/crun-starter.ts). cold-plain / fork-plain: the same without sandboxes. ' +
      'The Python zygote preloads numpy (HEARTH_PYTHON_PRELOAD); the Node.js zygote runs `node --single-threaded`. PSS columns: sandboxed forked instances.',
    '',
    markdownTable(['function', 'path', 'n', 'start P50', 'start P99', 'E2E P50', 'E2E P99', 'cold/path start P50', 'PSS per instance MB', 'USS MB', 'incremental PSS MB', 'template PSS MB'], rows),
  ].join('\n');
  writeResults('start-paths', { machine: machine(), runs: RUNS, heavyRuns: HEAVY_RUNS, date: new Date().toISOString(), results }, md);
  process.stdout.write(`${md}\n`);
}

await main();
