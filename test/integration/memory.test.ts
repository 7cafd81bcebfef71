// Memory accounting: PSS/USS of instances, templates and zygotes in the API,
// `hearth ls` and the metrics; templates and zygotes count toward the node budget.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parseSmapsRollup, readSmapsRollup, sampleAll } from '../../src/memory/pss.js';
import { NATIVE_ADDON_PATH } from '../../src/sandbox/native.js';
import { REPO, deployOk, invoke, startTestHearth, writeFunction, type TestHearth } from '../helpers.js';

const run = promisify(execFile);
const skipFork = fs.existsSync(NATIVE_ADDON_PATH) ? false : 'the native addon is not built (npm run build:native): no templates';

const PY_DATA = { 'app.py': 'DATA = bytearray(8 * 2**20)\nfor i in range(0, len(DATA), 4096):\n    DATA[i] = 1\ndef handler(event, context):\n    return {"n": sum(DATA[::4096])}\n' };

let h: TestHearth;
before(async () => {
  // Fork paths run with sandboxes off; sampling only on demand keeps the test deterministic.
  h = await startTestHearth({ sandbox: false, memorySampleMs: 0 });
});
after(async () => {
  await h.cleanup();
});

test('smaps_rollup parsing: PSS, USS = Private_Clean + Private_Dirty, RSS, swap', () => {
  const text = 'Rss:                1000 kB\nPss:                 600 kB\nPss_Dirty:           100 kB\nShared_Clean:        300 kB\nPrivate_Clean:       200 kB\nPrivate_Dirty:       150 kB\nSwap:                 40 kB\nSwapPss:              20 kB\n';
  assert.deepEqual(parseSmapsRollup(7, text), { pid: 7, rssKB: 1000, pssKB: 600, ussKB: 350, swapKB: 40, swapPssKB: 20 });
  const self = readSmapsRollup(process.pid)!;
  assert.ok(self.pssKB > 0 && self.rssKB >= self.pssKB && self.pssKB >= self.ussKB);
  assert.equal(readSmapsRollup(0), undefined);
  assert.equal(sampleAll([process.pid, 2 ** 22 + 12345]).size, 1, 'a gone pid is left out');
});

test('PSS of instances, templates and zygotes in the API, hearth ls and the metrics', { skip: skipFork }, async () => {
  await deployOk(h.url, writeFunction({ name: 'mem-py', runtime: 'python3.11', handler: 'app.handler' }, PY_DATA));
  const r = await invoke(h.url, 'mem-py');
  assert.equal(r.headers.get('x-hearth-start-path'), 'repurpose');

  const list = (await (await fetch(`${h.url}/v1/functions`)).json()) as { functions: Array<{ name: string; memory: Record<string, number> }> };
  const entry = list.functions.find((f) => f.name === 'mem-py')!;
  assert.ok(entry.memory.pssKB! > 0, 'instance PSS');
  assert.ok(entry.memory.ussKB! > 0, 'instance USS');
  assert.equal(entry.memory.templates, 1);
  assert.ok(entry.memory.templatePssKB! > 4 * 1024, `the template carries its 8 MB of data: ${entry.memory.templatePssKB} KB`);
  assert.equal(entry.memory.totalPssKB, entry.memory.pssKB! + entry.memory.templatePssKB!);

  const got = (await (await fetch(`${h.url}/v1/functions/mem-py`)).json()) as { memory: { templatePssKB: number; templates: Array<{ pid: number; pssKB: number; ussKB: number; version: number }> } };
  assert.equal(got.memory.templates.length, 1);
  assert.ok(got.memory.templates[0]!.pssKB > 0 && got.memory.templates[0]!.pid > 0);

  const node = (await (await fetch(`${h.url}/v1/node`)).json()) as { memory: { budgetMB: number; usedMB: number; accounting: string; sampleUsPerPid: number; totals: Record<string, { count: number; pssKB: number }>; zygotes: Array<{ runtime: string; pssKB: number }> } };
  const m = node.memory;
  assert.equal(m.budgetMB, h.hearth.config.memoryBudgetMB);
  assert.equal(m.accounting, 'reserved');
  assert.equal(m.totals.templates!.count, 1);
  assert.ok(m.totals.instances!.count >= 1 && m.totals.instances!.pssKB > 0);
  assert.ok(m.totals.zygotes!.count === h.hearth.templates!.zygotes.size && m.totals.zygotes!.pssKB > 0, 'every zygote (Python and Node.js)');
  assert.ok(m.zygotes.some((z) => z.runtime === 'python3.11' && z.pssKB > 0), 'the python zygote');
  assert.ok(m.totals.agent!.pssKB > 0);
  assert.ok(m.sampleUsPerPid > 0);
  // Reserved accounting: the instance at its manifest memory (128 MB), plus template and zygote PSS.
  assert.ok(m.usedMB >= 128 + (m.totals.templates!.pssKB + m.totals.zygotes!.pssKB) / 1024 - 1, `used ${m.usedMB} MB`);

  const metrics = await (await fetch(`${h.url}/metrics`)).text();
  assert.match(metrics, /hearth_function_pss_bytes\{function="mem-py",kind="instance"\} [1-9]\d*/);
  assert.match(metrics, /hearth_function_pss_bytes\{function="mem-py",kind="template"\} [1-9]\d*/);
  assert.match(metrics, /hearth_function_uss_bytes\{function="mem-py",kind="template"\} [1-9]\d*/);
  assert.match(metrics, /hearth_node_pss_bytes\{kind="zygotes"\} [1-9]\d*/);
  assert.match(metrics, /hearth_node_pss_bytes\{kind="templates"\} [1-9]\d*/);
  assert.match(metrics, /hearth_zygote_pss_bytes\{runtime="python3.11"\} [1-9]\d*/);
  assert.match(metrics, /hearth_memory_budget_bytes [1-9]\d*/);
  assert.match(metrics, /hearth_memory_used_bytes [1-9]\d*/);

  const { stdout } = await run(process.execPath, [path.join(REPO, 'bin', 'hearth.js'), '--url', h.url, 'ls'], { env: { ...process.env, HEARTH_TOKEN: '' } });
  assert.match(stdout, /NAME\s+VERSION.*PSS\s+USS\s+TEMPLATE-PSS/);
  assert.match(stdout, /mem-py\s.*\d+\.\dMB\s+\d+\.\dMB\s+([1-9]\d*)\.\dMB/);
  assert.match(stdout, /node PSS: instances [\d.]+MB \(\d+\), templates [\d.]+MB \(1\), zygotes [\d.]+MB \(\d\), agent [\d.]+MB; budget \d+\/\d+MB/);
});

test('templates and zygotes count toward the node memory budget (an idle instance is evicted for them)', { skip: skipFork }, async () => {
  // 256 MB holds two 128 MB instances by manifest alone; with the measured template and zygote PSS it does not.
  const tight = await startTestHearth({ sandbox: false, memoryBudgetMB: 256, memorySampleMs: 0 });
  try {
    for (const name of ['b1', 'b2']) await deployOk(tight.url, writeFunction({ name, runtime: 'python3.11', handler: 'app.handler', memoryMB: 128 }, PY_DATA));
    assert.equal((await invoke(tight.url, 'b1')).headers.get('x-hearth-start-path'), 'repurpose');
    tight.hearth.memory.refresh();
    const shared = tight.hearth.memory.sharedPssKB() / 1024;
    assert.ok(shared > 4, `template + zygote PSS measured: ${shared} MB`);
    assert.ok(Math.abs(tight.hearth.scheduler.memoryUsedMB() - (128 + shared)) < 0.01);
    // b2 does not fit next to b1's idle instance: b1's instance is evicted (its template stays).
    assert.equal((await invoke(tight.url, 'b2')).headers.get('x-hearth-start-path'), 'repurpose');
    const metrics = await (await fetch(`${tight.url}/metrics`)).text();
    assert.match(metrics, /hearth_evictions_total\{reason="memory"\} 1/);
    tight.hearth.memory.refresh();
    assert.equal((await invoke(tight.url, 'b1')).headers.get('x-hearth-start-path'), 'fork', 'b1 was evicted, its template was not');
  } finally {
    await tight.cleanup();
  }
});

test("measured accounting charges instances their PSS: forked instances share the template's memory", { skip: skipFork }, async () => {
  const dense = await startTestHearth({ sandbox: false, memoryBudgetMB: 256, memorySampleMs: 0, memoryAccounting: 'measured' });
  try {
    for (const name of ['d1', 'd2']) await deployOk(dense.url, writeFunction({ name, runtime: 'python3.11', handler: 'app.handler', memoryMB: 128 }, PY_DATA));
    await invoke(dense.url, 'd1');
    dense.hearth.memory.refresh();
    const used = dense.hearth.scheduler.memoryUsedMB();
    assert.ok(used < 128, `d1's instance counts with its PSS, not 128 MB: ${used} MB`);
    assert.equal((await invoke(dense.url, 'd2')).headers.get('x-hearth-start-path'), 'repurpose');
    assert.equal((await invoke(dense.url, 'd1')).headers.get('x-hearth-start-path'), 'warm', 'nothing was evicted');
  } finally {
    await dense.cleanup();
  }
});

test('a starting instance counts with its manifest memory until it is measured', { skip: skipFork }, async () => {
  const burst = await startTestHearth({ sandbox: false, memoryBudgetMB: 300, memorySampleMs: 0, memoryAccounting: 'measured' });
  try {
    await deployOk(burst.url, writeFunction({ name: 'burst', runtime: 'python3.11', handler: 'app.handler', memoryMB: 128, concurrency: 10, timeoutS: 30 }, { 'app.py': 'import time\ndef handler(event, context):\n    time.sleep(0.5)\n    return 1\n' }));
    // Ten concurrent calls, no sample in between: at most two 128 MB reservations fit in 300 MB (minus nothing measured yet).
    const calls = await Promise.all(Array.from({ length: 10 }, () => invoke(burst.url, 'burst')));
    assert.ok(calls.every((c) => c.status === 200));
    const started = calls.filter((c) => c.headers.get('x-hearth-start-path') !== 'warm').length;
    assert.equal(started, 2, `instances started: ${started}`);
  } finally {
    await burst.cleanup();
  }
});

test('the periodic sample (off the event loop) measures instances for the budget', async () => {
  const sampled = await startTestHearth({ memorySampleMs: 100 });
  try {
    await deployOk(sampled.url, writeFunction({ name: 'ps', runtime: 'nodejs20', handler: 'index.handler', memoryMB: 256 }, { 'index.mjs': 'export const handler = () => 1;' }));
    await invoke(sampled.url, 'ps');
    const [instance] = sampled.hearth.scheduler.accountedInstances();
    assert.ok(instance);
    const deadline = Date.now() + 5000;
    while (sampled.hearth.memory.instancePssKB(instance.id) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const pss = sampled.hearth.memory.instancePssKB(instance.id);
    assert.ok(pss !== undefined && pss > 0, 'sampled');
    // Reserved accounting: max(PSS, 256 MB).
    assert.ok(Math.abs(sampled.hearth.scheduler.memoryUsedMB() - (Math.max(256, pss / 1024) + sampled.hearth.memory.sharedPssKB() / 1024)) < 1e-6);
  } finally {
    await sampled.cleanup();
  }
});
