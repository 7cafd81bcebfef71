// CI smoke of the evaluation harness (bench/run.ts --smoke): a tiny run (2
// functions, W1, cold vs hearth) must produce well-formed output — the files,
// results.json valid against the schema, every scheduled call accounted for
// in the summary and in the calls file — and leave nothing running or behind.
// It asserts no timing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { REPO_ROOT } from '../../src/config.js';
import { CallLineSchema, ResultsSchema } from '../../bench/harness/schema.js';

const RUN_JS = path.join(REPO_ROOT, 'dist', 'bench', 'run.js');

function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

test('bench harness --smoke writes well-formed results and accounts for every call', { timeout: 120_000 }, async () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-smoke-'));
  const outDir = path.join(scratch, 'out');
  const tmpDir = path.join(scratch, 'tmp');
  fs.mkdirSync(tmpDir);
  try {
    const started = Date.now();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      // TMPDIR: the harness's data directories land here, so the test can check they are gone.
      const child = spawn(process.execPath, [RUN_JS, '--smoke', '--out', outDir], { env: { ...process.env, TMPDIR: tmpDir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout.resume();
      const timer = setTimeout(() => child.kill('SIGINT'), 100_000);
      child.on('error', reject);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve({ code: c, stderr: err });
      });
    });
    assert.equal(code, 0, `harness failed after ${Date.now() - started} ms:\n${stderr.slice(-4000)}`);

    for (const file of ['results.json', 'report.md', 'calls.jsonl.gz', 'cdf-W1.svg', 'memory-W1.svg', 'start-phases.svg']) {
      assert.ok(fs.statSync(path.join(outDir, file)).size > 0, `${file} is missing or empty`);
    }
    const results = ResultsSchema.parse(JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8')));
    assert.equal(results.mode, 'smoke');
    assert.deepEqual(results.functions.map((f) => f.name), ['py-json', 'node-json']);
    assert.deepEqual(results.workloads.map((w) => w.name), ['W1']);
    const ran = results.systems.filter((s) => !s.skipped).map((s) => s.name);
    assert.deepEqual(ran, ['cold', 'hearth']);
    assert.equal(results.runs.length, ran.length * results.workloads.length, 'one run per system and workload');

    const lines = zlib
      .gunzipSync(fs.readFileSync(path.join(outDir, results.callsFile)))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => CallLineSchema.parse(JSON.parse(l)));
    for (const run of results.runs) {
      const workload = results.workloads.find((w) => w.name === run.workload)!;
      const mine = lines.filter((l) => l.system === run.system && l.workload === run.workload);
      assert.ok(workload.arrivals > 0, 'the workload sends calls');
      assert.equal(run.accounting.scheduled, workload.arrivals, `${run.system}: every arrival is scheduled`);
      assert.equal(mine.length, workload.arrivals, `${run.system}: every arrival has a line in the calls file`);
      // stdlib-only functions on a healthy host: every call succeeds and reports its start path and phases.
      assert.equal(run.accounting.ok, run.accounting.scheduled, `${run.system}: failed calls: ${run.errors.join('; ')}`);
      assert.equal(run.warmup.ok, run.warmup.calls);
      for (const l of mine) {
        assert.equal(l.status, 'ok');
        assert.ok(l.startPath && ['warm', 'fork', 'repurpose', 'restore', 'cold'].includes(l.startPath), `start path ${l.startPath}`);
        assert.ok(l.e2eMs !== null && l.phases.start !== undefined && l.phases.total !== undefined);
      }
      const pathCount = Object.values(run.paths).reduce((a, b) => a + b, 0);
      assert.equal(pathCount, run.accounting.scheduled, `${run.system}: start paths cover every call`);
      assert.equal(run.e2e.n, run.accounting.ok);
      assert.ok(run.memory.samples.length > 0 && run.memory.peakPssMB > 0, `${run.system}: memory was measured`);
    }
    // The cold baseline has no fork paths (a queued call may still get an instance that just finished: warm).
    const cold = results.runs.find((r) => r.system === 'cold')!;
    assert.ok(Object.keys(cold.paths).every((p) => p === 'cold' || p === 'warm'), JSON.stringify(cold.paths));
    assert.ok((cold.paths.cold ?? 0) > 0);

    const report = fs.readFileSync(path.join(outDir, 'report.md'), 'utf8');
    for (const heading of ['## Every call accounted', '## W1', '## Start latency by phase', '## hearth against the baselines', '## Next to the papers']) assert.ok(report.includes(heading), `report lacks ${heading}`);
    for (const svg of ['cdf-W1.svg', 'memory-W1.svg', 'start-phases.svg']) {
      const text = fs.readFileSync(path.join(outDir, svg), 'utf8');
      assert.match(text, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>$/);
    }

    // Nothing left behind: no data directories, no process of the run.
    assert.deepEqual(fs.readdirSync(tmpDir).filter((e) => e.startsWith('hearth-harness-')), []);
    assert.deepEqual(processesMentioning(tmpDir), []);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
