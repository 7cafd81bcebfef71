// Start paths side by side, per runtime and function: cold (process per
// instance), repurpose (zygote → new template → instance), fork (instance from a
// resident template), warm (idle instance). Through the real HTTP API; every
// path forced by the setup of its own hearth, calls interleaved across paths.
// Usage: npm run build && node dist/bench/start-paths.js [--runs N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHearth } from '../src/main.js';
import { silentLogger } from '../src/log.js';
import { zipDirectory } from '../src/cli/zip-dir.js';
import { machine, markdownTable, summarize, writeResults } from './lib/stats.js';
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg !== -1 ? Number(process.argv[runsArg + 1]) : 300;
const FUNCTIONS = [
    { name: 'py-trivial', runtime: 'python3.11', handler: 'app.handler', files: { 'app.py': 'def handler(event, context):\n    return {"ok": True}\n' } },
    {
        name: 'py-numpy',
        runtime: 'python3.11',
        handler: 'app.handler',
        files: { 'app.py': 'import numpy as np\nM = np.random.default_rng(1).random((200, 200))\ndef handler(event, context):\n    return {"trace": float(np.trace(M))}\n' },
    },
    { name: 'node-trivial', runtime: 'nodejs20', handler: 'index.handler', files: { 'index.mjs': 'export const handler = async () => ({ ok: true });' } },
];
function timing(header, name) {
    return Number(new RegExp(`${name};dur=([\\d.]+)`).exec(header ?? '')?.[1] ?? NaN);
}
async function waitNoInstances(h, fn) {
    while ((h.hearth.scheduler.stats(fn)[0]?.instances.length ?? 0) > 0)
        await new Promise((r) => setTimeout(r, 1));
}
async function main() {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-paths-'));
    const start = (name, overrides) => startHearth({ dataDir: path.join(work, name), port: 0, ...overrides }, silentLogger());
    // The fork paths are not sandboxed yet: compare them with both cold variants.
    const coldH = await start('cold', { keepAliveMs: 0, forkPaths: false, sandbox: false });
    const sandboxedH = process.getuid?.() === 0 ? await start('cold-sandboxed', { keepAliveMs: 0, forkPaths: false, sandbox: true }) : undefined;
    const forkH = await start('fork', { keepAliveMs: 0, sandbox: false, pythonPreload: ['numpy'] });
    const repurposeH = await start('repurpose', { keepAliveMs: 0, sandbox: false, pythonPreload: ['numpy'] });
    const warmH = await start('warm', { sandbox: false });
    const setups = [
        { path: 'cold', hearth: coldH, prepare: (fn) => waitNoInstances(coldH, fn) },
        ...(sandboxedH ? [{ path: 'cold-sandboxed', hearth: sandboxedH, prepare: (fn) => waitNoInstances(sandboxedH, fn) }] : []),
        { path: 'repurpose', hearth: repurposeH, prepare: async (fn) => {
                await waitNoInstances(repurposeH, fn);
                repurposeH.hearth.templates?.retire(fn);
            } },
        { path: 'fork', hearth: forkH, prepare: (fn) => waitNoInstances(forkH, fn) },
        { path: 'warm', hearth: warmH, prepare: async () => undefined },
    ];
    const results = {};
    try {
        for (const fn of FUNCTIONS) {
            const dir = path.join(work, `fn-${fn.name}`);
            fs.mkdirSync(dir);
            fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify({ name: fn.name, runtime: fn.runtime, handler: fn.handler }));
            for (const [f, c] of Object.entries(fn.files))
                fs.writeFileSync(path.join(dir, f), c);
            const zip = await zipDirectory(dir);
            const active = setups.filter((s) => s.path === 'cold' || s.path === 'cold-sandboxed' || s.path === 'warm' || s.hearth.hearth.templates?.zygotes.has(fn.runtime));
            for (const s of active) {
                await s.hearth.hearth.deploy(zip);
                await fetch(`${s.hearth.url}/function/${fn.name}`, { method: 'POST', body: '{}' }).then((r) => r.text()); // template / warm instance
            }
            const samples = new Map(active.map((s) => [s.path, { e2e: [], start: [] }]));
            for (let i = 0; i < RUNS; i++) {
                for (const s of active) {
                    await s.prepare(fn.name);
                    const t0 = performance.now();
                    const r = await fetch(`${s.hearth.url}/function/${fn.name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
                    const body = await r.text();
                    const e2e = performance.now() - t0;
                    const taken = r.headers.get('x-hearth-start-path');
                    if (taken !== s.path.replace('-sandboxed', '') || r.headers.get('x-amz-function-error'))
                        throw new Error(`${fn.name}: expected ${s.path}, got ${taken}: ${body}`);
                    samples.get(s.path).e2e.push(e2e);
                    samples.get(s.path).start.push(timing(r.headers.get('server-timing'), 'start'));
                }
                if (i % 100 === 0)
                    process.stderr.write(`${fn.name}: ${i}/${RUNS}\n`);
            }
            results[fn.name] = {};
            for (const [p, v] of samples)
                results[fn.name][p] = { e2e: summarize(v.e2e), start: summarize(v.start) };
            // Incremental memory of a forked instance: PSS of idle instances forked from one template.
            const forkSetup = active.find((s) => s.path === 'fork');
            if (forkSetup) {
                const h = await startHearth({ dataDir: path.join(work, `pss-${fn.name}`), port: 0, keepAliveMs: 600_000, sandbox: false, pythonPreload: ['numpy'] }, silentLogger());
                await h.hearth.deploy(zip);
                const calls = await Promise.all(Array.from({ length: 8 }, () => fetch(`${h.url}/function/${fn.name}`, { method: 'POST', body: '{}' }).then((r) => r.text())));
                void calls;
                const pss = h.hearth.scheduler.stats(fn.name)[0].instances.map((x) => x.pssKB ?? 0);
                results[fn.name].fork.pssKB = pss.reduce((a, b) => a + b, 0) / Math.max(1, pss.length);
                await h.stop();
            }
        }
    }
    finally {
        for (const s of setups)
            await s.hearth.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
    const rows = [];
    for (const [fn, byPath] of Object.entries(results)) {
        const cold = byPath.cold;
        for (const [p, r] of Object.entries(byPath)) {
            rows.push([fn, p, r.e2e.n, r.start.p50, r.start.p99, r.e2e.p50, r.e2e.p99, cold.start.p50 / r.start.p50, r.pssKB !== undefined ? (r.pssKB / 1024).toFixed(1) : '']);
        }
    }
    const md = [
        '# Start paths side by side (HTTP end to end)',
        '',
        `${RUNS} calls per cell, paths interleaved call by call in one run. Machine: ${JSON.stringify(machine())}. Times in ms; "start" = request arrival to the handler's first line. ` +
            'PSS: mean proportional set size of 8 idle instances forked from one template. cold-sandboxed: a shell from the pool + the enter-sandbox sequence (hearth-enter). ' +
            'The zygote preloads numpy (HEARTH_PYTHON_PRELOAD). Fork and repurpose instances are in per-instance cgroups but not yet in sandboxes.',
        '',
        markdownTable(['function', 'path', 'n', 'start P50', 'start P99', 'E2E P50', 'E2E P99', 'cold/path start P50', 'PSS per instance MB'], rows),
    ].join('\n');
    writeResults('start-paths', { machine: machine(), runs: RUNS, date: new Date().toISOString(), results }, md);
    process.stdout.write(`${md}\n`);
}
await main();
//# sourceMappingURL=start-paths.js.map