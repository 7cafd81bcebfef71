// The cost of the enter-sandbox sequence on the cold path, side by side in one run
// (interleaved, so that drift hits every variant alike):
//   plain spawn of /bin/true                        (no sandbox)
//   hearth-enter ... -- /bin/true, new network namespace
//   hearth-enter ... -- /bin/true, joining a prepared network namespace (as the netns pool does)
// For each: time from spawn() to the exec of /bin/true, and to its exit; for hearth-enter
// also the duration of every step of native/enter.c (from its timings fd).
// Usage (root): npm run build && npm run build:native && node dist/bench/enter-sequence.js [--runs N]
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeSandboxPlan, spawnSandboxed } from '../src/sandbox/enter.js';
import { machine, markdownTable, summarize, writeResults } from './lib/stats.js';
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg !== -1 ? Number(process.argv[runsArg + 1]) : 1000;
function exited(child) {
    return new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`exit ${code} ${signal}`))));
    });
}
async function plainSpawn() {
    const t0 = performance.now();
    // libuv's spawn returns once the child has exec'd (it waits on a CLOEXEC pipe).
    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    const toExecMs = performance.now() - t0;
    await exited(child);
    return { toExecMs, toExitMs: performance.now() - t0 };
}
async function sandboxed(plan) {
    const t0 = performance.now();
    const s = spawnSandboxed(plan, ['/bin/true'], { stdio: ['ignore', 'ignore', 'ignore', 'ignore'], timings: true });
    const done = exited(s.child);
    await s.entered; // EOF on the status fd: the exec happened
    const toExecMs = performance.now() - t0;
    await done;
    return { toExecMs, toExitMs: performance.now() - t0, steps: await s.timings };
}
/** Per step: its own duration (end of this step minus end of the previous one). */
function stepDurations(samples) {
    const byStep = new Map();
    for (const sample of samples) {
        let previous = 0;
        for (const { step, atMs } of sample.steps ?? []) {
            const list = byStep.get(step) ?? [];
            list.push(atMs - previous);
            byStep.set(step, list);
            previous = atMs;
        }
    }
    return [...byStep.entries()].map(([step, values]) => ({ step, summary: summarize(values) }));
}
async function main() {
    if (process.getuid?.() !== 0)
        throw new Error('the enter-sequence bench needs root');
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-enter-'));
    const code = path.join(work, 'code');
    fs.mkdirSync(code, { mode: 0o755 });
    fs.chmodSync(work, 0o755);
    const netns = `hearth-bench-${crypto.randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', netns]);
    const ids = { uid: 700_000, gid: 700_000 };
    const variants = [
        { name: 'plain spawn (no sandbox)', run: plainSpawn, samples: [] },
        { name: 'hearth-enter, new netns', run: () => sandboxed(makeSandboxPlan({ codeDir: code, ids })), samples: [] },
        { name: 'hearth-enter, join netns', run: () => sandboxed(makeSandboxPlan({ codeDir: code, ids, netnsPath: `/run/netns/${netns}` })), samples: [] },
    ];
    try {
        for (let i = 0; i < 20; i++)
            for (const v of variants)
                await v.run(); // warm-up
        for (let i = 0; i < RUNS; i++)
            for (const v of variants)
                v.samples.push(await v.run());
    }
    finally {
        execFileSync('ip', ['netns', 'del', netns]);
        fs.rmSync(work, { recursive: true, force: true });
    }
    const totals = variants.map((v) => ({ name: v.name, toExec: summarize(v.samples.map((s) => s.toExecMs)), toExit: summarize(v.samples.map((s) => s.toExitMs)) }));
    const steps = variants.filter((v) => v.samples[0]?.steps?.length).map((v) => ({ name: v.name, steps: stepDurations(v.samples) }));
    const ms = (x) => x.toFixed(3);
    const markdown = [
        `# Enter-sandbox sequence (cold path, hearth-enter)`,
        ``,
        `${RUNS} runs per variant, interleaved; ${new Date().toISOString()}; ${JSON.stringify(machine())}.`,
        ``,
        `## spawn() to exec of /bin/true, and to its exit (ms)`,
        ``,
        markdownTable(['variant', 'exec P50', 'exec P99', 'exit P50', 'exit P99'], totals.map((t) => [t.name, ms(t.toExec.p50), ms(t.toExec.p99), ms(t.toExit.p50), ms(t.toExit.p99)])),
        ``,
        `## Per step (ms, each step's own duration; steps in order of native/enter.c)`,
        ``,
        markdownTable(['step', ...steps.flatMap((s) => [`${s.name} P50`, `P99`])], (steps[0]?.steps ?? []).map(({ step }) => [step, ...steps.flatMap((s) => {
                const found = s.steps.find((x) => x.step === step)?.summary;
                return found ? [ms(found.p50), ms(found.p99)] : ['-', '-'];
            })])),
        ``,
        `The steps' times are measured inside hearth-enter (CLOCK_MONOTONIC from the start of the sequence);`,
        `the supervisor's steps (join-cgroups, uid-map, ...) show up as the child's waits (wait-cgroups, userns).`,
    ].join('\n');
    writeResults('enter-sequence', { runs: RUNS, machine: machine(), totals, steps }, markdown);
    process.stdout.write(`${markdown}\n`);
}
main().catch((error) => {
    process.stderr.write(`${error.stack ?? String(error)}\n`);
    process.exitCode = 1;
});
//# sourceMappingURL=enter-sequence.js.map