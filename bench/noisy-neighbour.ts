// Noisy neighbours: a victim function's warm-call latency, quiet vs while three
// hostile functions run next to it on the same hearth:
//   spin  — four threads spinning on the CPU until the 2 s timeout kills the instance;
//   hog   — allocates until its 64 MB cgroup limit OOM-kills the instance;
//   crash — segfaults on every call (a crash loop: a new instance each time, forked from its template).
// Each noise function is called in a loop (one call in flight each), so the noise
// also exercises hearth itself: cold starts, timeouts, OOM handling, shell purges.
// Quiet and noisy blocks alternate (BLOCK calls each) so that the machine's own
// background load affects both alike. Through the real HTTP API; sandboxed when root.
// Usage: npm run build && node dist/bench/noisy-neighbour.js [--runs N] [--noise spin,hog,crash]
// (N per phase, default 400; a --noise subset writes noisy-neighbour-<subset>.{json,md})
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHearth, type RunningHearth } from '../src/main.js';
import { silentLogger } from '../src/log.js';
import { zipDirectory } from '../src/cli/zip-dir.js';
import { machine, markdownTable, summarize, writeResults, type Summary } from './lib/stats.js';
import { serverTiming } from './lib/calls.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg !== -1 ? Number(process.argv[runsArg + 1]) : 400;
const noiseArg = process.argv.indexOf('--noise');
/** Which noise functions run (default all three); e.g. --noise spin to attribute the effect. */
const NOISE = noiseArg !== -1 ? process.argv[noiseArg + 1]!.split(',') : ['spin', 'hog', 'crash'];
const BLOCK = 100;
/** Think time between victim calls, so that a block spans a few seconds of noise. */
const GAP_MS = 5;

const FUNCTIONS: Record<string, { manifest: Record<string, unknown>; files: Record<string, string> }> = {
  victim: { manifest: { timeoutS: 10 }, files: { 'app.py': 'def handler(event, context):\n    return {"ok": sum(range(1000))}\n' } },
  spin: {
    manifest: { timeoutS: 2 },
    files: { 'app.py': 'import threading\ndef spin():\n    while True:\n        pass\ndef handler(event, context):\n    for _ in range(3):\n        threading.Thread(target=spin, daemon=True).start()\n    spin()\n' },
  },
  hog: { manifest: { memoryMB: 64 }, files: { 'app.py': 'def handler(event, context):\n    x = []\n    while True:\n        x.append(bytearray(8 * 2**20))\n' } },
  // A real fault (kill(getpid(), SIGSEGV) would be ignored: the instance is pid 1 of its namespace).
  crash: { manifest: {}, files: { 'app.py': 'import ctypes\ndef handler(event, context):\n    ctypes.string_at(0)\n' } },
};

async function deploy(h: RunningHearth, work: string, name: string): Promise<void> {
  const dir = path.join(work, 'fn', name);
  fs.mkdirSync(dir, { recursive: true });
  const { manifest, files } = FUNCTIONS[name]!;
  fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify({ name, runtime: 'python3.11', handler: 'app.handler', ...manifest }));
  for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), content);
  await h.hearth.deploy(await zipDirectory(dir));
}

async function call(h: RunningHearth, name: string): Promise<{ ms: number; serverMs: number; status: number; kind: string }> {
  const t0 = performance.now();
  const r = await fetch(`${h.url}/function/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  await r.arrayBuffer();
  const ms = performance.now() - t0;
  return { ms, serverMs: serverTiming(r.headers.get('server-timing'), 'total'), status: r.status, kind: r.headers.get('x-hearth-error-kind') ?? (r.status === 200 ? 'ok' : `http-${r.status}`) };
}

interface Phase {
  e2e: number[];
  server: number[];
  failures: number;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-noisy-'));
  const sandbox = process.getuid?.() === 0;
  const h = await startHearth({ dataDir: path.join(work, 'data'), port: 0, sandbox, keepAliveMs: 600_000 }, silentLogger());
  const phases: Record<'quiet' | 'noisy', Phase> = { quiet: { e2e: [], server: [], failures: 0 }, noisy: { e2e: [], server: [], failures: 0 } };
  const noiseOutcomes: Record<string, Record<string, number>> = { spin: {}, hog: {}, crash: {} };
  try {
    for (const name of Object.keys(FUNCTIONS)) await deploy(h, work, name);
    for (let i = 0; i < 20; i++) await call(h, 'victim'); // cold start + warm-up
    let stop = true;
    let loops: Array<Promise<void>> = [];
    const startNoise = (): void => {
      stop = false;
      loops = NOISE.map((name) =>
        (async () => {
          while (!stop) {
            const r = await call(h, name);
            noiseOutcomes[name]![r.kind] = (noiseOutcomes[name]![r.kind] ?? 0) + 1;
          }
        })(),
      );
    };
    const stopNoise = async (): Promise<void> => {
      stop = true;
      await Promise.all(loops);
    };
    for (let done = 0; done < RUNS; done += BLOCK) {
      for (const phase of ['quiet', 'noisy'] as const) {
        if (phase === 'noisy') {
          startNoise();
          await new Promise((r) => setTimeout(r, 500)); // the noise is under way
        }
        for (let i = 0; i < Math.min(BLOCK, RUNS - done); i++) {
          const r = await call(h, 'victim');
          if (r.kind !== 'ok') phases[phase].failures++;
          phases[phase].e2e.push(r.ms);
          phases[phase].server.push(r.serverMs);
          await new Promise((resolve) => setTimeout(resolve, GAP_MS));
        }
        if (phase === 'noisy') await stopNoise();
      }
      process.stderr.write(`${Math.min(done + BLOCK, RUNS)}/${RUNS}\n`);
    }
  } finally {
    await h.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const s: Record<string, { e2e: Summary; server: Summary; failures: number }> = {};
  for (const [phase, p] of Object.entries(phases)) s[phase] = { e2e: summarize(p.e2e), server: summarize(p.server), failures: p.failures };
  const q = s.quiet!;
  const n = s.noisy!;
  const json = { machine: machine(), sandbox, noise: NOISE, runsPerPhase: RUNS, block: BLOCK, phases: s, noiseOutcomes, ratio: { e2eP50: n.e2e.p50 / q.e2e.p50, e2eP99: n.e2e.p99 / q.e2e.p99 } };
  const md = [
    '# Noisy neighbours: a victim\'s warm latency, quiet vs next to hostile functions',
    '',
    `${RUNS} victim calls per phase (Python, trivial handler, warm), quiet and noisy blocks of ${BLOCK} alternating, ${GAP_MS} ms between calls. ${sandbox ? 'Sandboxed, as hearth runs as root: new instances fork from sandboxed templates (each instance in its own pid/mount/net namespace and leaf cgroup).' : 'Not sandboxed (not root).'} Machine: ${JSON.stringify(machine())}.`,
    `Noise running: ${NOISE.join(', ')}. Noise functions, one call in flight each, in a loop: \`spin\` (4 threads on the CPU until its 2 s timeout), \`hog\` (allocates until its 64 MB limit OOM-kills it), \`crash\` (a segfault on every call: a new instance each time, forked from its template).`,
    'E2E = the HTTP round trip seen by the client; server = hearth\'s `total` (request arrival to result). Times in ms.',
    '',
    markdownTable(
      ['phase', 'n', 'failures', 'E2E P50', 'E2E P90', 'E2E P99', 'E2E max', 'server P50', 'server P99'],
      (['quiet', 'noisy'] as const).map((p) => [p, s[p]!.e2e.n, s[p]!.failures, s[p]!.e2e.p50, s[p]!.e2e.p90, s[p]!.e2e.p99, s[p]!.e2e.max, s[p]!.server.p50, s[p]!.server.p99]),
    ),
    '',
    `Noisy/quiet: P50 ×${json.ratio.e2eP50.toFixed(2)}, P99 ×${json.ratio.e2eP99.toFixed(2)}.`,
    '',
    `Noise outcomes (calls by result kind): ${Object.entries(noiseOutcomes).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join('; ')}.`,
  ].join('\n');
  writeResults(NOISE.length === 3 ? 'noisy-neighbour' : `noisy-neighbour-${NOISE.join('-')}`, json, md);
  process.stdout.write(`${md}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
