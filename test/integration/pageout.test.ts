// The paged-out image tier's mechanism on the real kernel: a swap file hearth
// creates and removes, process_madvise(MADV_PAGEOUT) of a real template, a
// REAP-style working set prefetched with MADV_WILLNEED, and the ImageTier
// bookkeeping. Everything created here (swap file, swapon) is undone in after().
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pageOut, prefetch, readMaps, residentPages } from '../../src/memory/pageout.js';
import { readSmapsRollup } from '../../src/memory/pss.js';
import { activeSwaps, parseSwapSpec, setUpSwap, type SwapArea } from '../../src/memory/swap.js';
import { ImageTier, imageKey, runtimeVersionOf } from '../../src/memory/tier.js';
import { silentLogger } from '../../src/log.js';
import { NATIVE_ADDON_PATH, loadNative } from '../../src/sandbox/native.js';
import { deployOk, invoke, startTestHearth, tempDir, testSwapFile, writeFunction, type TestHearth } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const baseSkip = !isRoot ? 'needs root (swapon, process_madvise of another process)' : !fs.existsSync(NATIVE_ADDON_PATH) ? 'the native addon is not built (npm run build:native)' : false;

const { swap, skip: swapSkip } = await testSwapFile(256, baseSkip);
let h: TestHearth | undefined;

before(async () => {
  if (swapSkip) return;
  // Instances stay after their call (their pages are read); removeFunction() stops them.
  h = await startTestHearth({ sandbox: false, memorySampleMs: 0, keepAliveMs: 60_000, forkSpares: 0 });
});
after(async () => {
  await h?.cleanup();
  if (swap) {
    await swap.close();
    assert.ok(!activeSwaps().some((s) => s.filename === swap.path), 'the test swap file is off');
    assert.ok(!fs.existsSync(swap.path), 'the test swap file is removed');
  }
});

// A template with 24 MB of anonymous data and a result that depends on all of it.
const PY_BIG = {
  'app.py': `import hashlib
DATA = bytearray(24 * 2**20)
for i in range(0, len(DATA), 512):
    DATA[i] = (i // 512) % 251
DIGEST = hashlib.sha256(DATA).hexdigest()
def handler(event, context):
    return {"digest": DIGEST, "check": hashlib.sha256(DATA).hexdigest(), "k": event.get("k")}
`,
};

function templatePid(name: string): number {
  const t = h!.hearth.templates!.residentTemplates().find((x) => x.fn.name === name);
  assert.ok(t, `template of ${name}`);
  return t.pid;
}

function instancePid(name: string): number {
  const i = h!.hearth.scheduler.stats(name)[0]?.instances[0];
  assert.ok(i, `instance of ${name}`);
  return i.pid;
}

test('HEARTH_SWAP_FILE: a swap file under the data dir, enabled, then switched off and removed', { skip: baseSkip }, async (t) => {
  const dataDir = tempDir('swapdata');
  assert.throws(() => parseSwapSpec('/etc/evil.swap,64', dataDir), /must be inside the data directory/);
  assert.throws(() => parseSwapSpec('x.swap,1', dataDir), /sizeMB ≥ 16/);
  assert.deepEqual(parseSwapSpec('32', dataDir), { file: path.join(dataDir, 'swap', 'hearth.swap'), sizeMB: 32 });
  let area: SwapArea | undefined;
  try {
    area = await setUpSwap({ spec: 'swap/s.swap,32', dataDir, log: silentLogger() });
  } catch (error) {
    t.skip(`the kernel refuses swap here: ${(error as Error).message}`);
    return;
  }
  try {
    assert.ok(area?.owned);
    const active = activeSwaps().find((s) => s.filename === path.join(dataDir, 'swap', 's.swap'));
    assert.ok(active, 'listed in /proc/swaps');
    assert.equal(active.sizeKB, 32 * 1024 - 4, 'the size asked for (minus the swap header page)');
  } finally {
    await area?.close();
  }
  assert.ok(!activeSwaps().some((s) => s.filename === area!.path));
  assert.ok(!fs.existsSync(area!.path));
  // Through hearth's config (HEARTH_SWAP_FILE): on at init, reported by GET /v1/node, off and gone at close.
  const withSwap = await startTestHearth({ sandbox: false, memorySampleMs: 0, swapFile: 'swap/h.swap,32', forkSpares: 0 });
  const file = path.join(withSwap.dataDir, 'swap', 'h.swap');
  try {
    const node = (await (await fetch(`${withSwap.url}/v1/node`)).json()) as { swap: { path: string; owned: boolean } };
    assert.deepEqual({ path: node.swap.path, owned: node.swap.owned }, { path: file, owned: true });
    assert.ok(activeSwaps().some((s) => s.filename === file));
  } finally {
    await withSwap.cleanup();
  }
  assert.ok(!activeSwaps().some((s) => s.filename === file) && !fs.existsSync(file), 'hearth removed its swap file at close');
  // Without a spec, hearth only uses what is active and never creates or removes anything.
  const found = await setUpSwap({ spec: undefined, dataDir, log: silentLogger() });
  if (found) {
    assert.equal(found.owned, false);
    await found.close();
    assert.ok(activeSwaps().some((s) => s.filename === found.path), 'an existing swap area is left alone');
  }
});

test('processMadvise: errors are reported (gone process, unsupported advice, bad ranges)', { skip: baseSkip }, async () => {
  const native = loadNative();
  const child = spawn('sleep', ['30']);
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid!;
  // Advice process_madvise does not accept (MADV_DONTNEED = 4) on every range: EINVAL.
  assert.throws(() => native.processMadvise(pid, 4), (e: NodeJS.ErrnoException) => e.code === 'EINVAL' && e.syscall === 'process_madvise');
  assert.throws(() => native.processMadvise(pid, native.constants.MADV_PAGEOUT, [1, 2, 3]), /ranges must be an array/);
  const r = native.processMadvise(pid, native.constants.MADV_COLD);
  assert.ok(r.ranges > 0 && r.advisedBytes > 0 && r.calls >= 1);
  // An unmapped range is skipped (ENOMEM) and counted, the rest advised.
  const mapped = readMaps(pid).find((m) => m.perms.startsWith('rw'))!;
  const partial = native.processMadvise(pid, native.constants.MADV_WILLNEED, [4096, 4096, mapped.start, 4096]);
  assert.equal(partial.enomem, 1);
  assert.equal(partial.advisedBytes, 4096);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.throws(() => native.processMadvise(pid, native.constants.MADV_PAGEOUT), (e: NodeJS.ErrnoException) => e.code === 'ESRCH' || e.code === 'ENOENT');
});

test('pageout of a real template frees its memory; forks from it return identical results; the working set is prefetched', { skip: swapSkip }, async () => {
  const url = h!.url;
  await deployOk(url, writeFunction({ name: 'paged', runtime: 'python3.11', handler: 'app.handler' }, PY_BIG));
  const first = await invoke(url, 'paged', { k: 1 });
  assert.equal(first.headers.get('x-hearth-start-path'), 'repurpose');
  const expected = first.body as { digest: string; check: string };
  assert.equal(expected.digest, expected.check);
  await h!.hearth.scheduler.removeFunction('paged');

  const tpid = templatePid('paged');
  const before = readSmapsRollup(tpid)!;
  const out = pageOut(tpid);
  assert.equal(out.skippedRanges - out.einval - out.enomem, 0);
  const afterOut = readSmapsRollup(tpid)!;
  assert.ok(before.rssKB > 24 * 1024, `template RSS before: ${before.rssKB} KB`);
  assert.ok(afterOut.rssKB < before.rssKB / 2, `RSS ${before.rssKB} → ${afterOut.rssKB} KB`);
  assert.ok(afterOut.swapKB > 20 * 1024, `its data went to swap: ${afterOut.swapKB} KB`);
  assert.ok(afterOut.pssKB < before.pssKB / 2, `PSS ${before.pssKB} → ${afterOut.pssKB} KB`);

  // A fork from the paged-out template faults its pages back in: same result.
  const second = await invoke(url, 'paged', { k: 2 });
  assert.equal(second.headers.get('x-hearth-start-path'), 'fork');
  assert.deepEqual(second.body, { ...expected, k: 2 });

  // Its working set: the instance hashed all 24 MB, so at least that is resident in it.
  const ws = residentPages(instancePid('paged'));
  assert.ok(ws.bytes >= 24 * 2 ** 20, `working set ${ws.bytes} bytes`);
  assert.equal(ws.ranges.length % 2, 0);
  await h!.hearth.scheduler.removeFunction('paged');

  pageOut(tpid);
  const pf = prefetch(tpid, ws);
  assert.ok(pf.advisedBytes > 0 && pf.einval === 0, JSON.stringify(pf));
  const third = await invoke(url, 'paged', { k: 3 });
  assert.equal(third.headers.get('x-hearth-start-path'), 'fork');
  assert.deepEqual(third.body, { ...expected, k: 3 });
  await h!.hearth.scheduler.removeFunction('paged');
});

test('ImageTier: demote, promote with the recorded working set, invalidation by image key', { skip: swapSkip }, async () => {
  const url = h!.url;
  await deployOk(url, writeFunction({ name: 'tiered', runtime: 'python3.11', handler: 'app.handler' }, PY_BIG));
  const expected = (await invoke(url, 'tiered', { k: 0 })).body as Record<string, unknown>;
  await h!.hearth.scheduler.removeFunction('tiered');
  const fn = h!.hearth.registry.get('tiered');
  const id = { name: fn.name, version: fn.version, codeSha256: fn.codeSha256, runtime: fn.manifest.runtime, runtimeVersion: runtimeVersionOf(h!.hearth.config.pythonBinary) };
  const key = imageKey(id);
  assert.notEqual(imageKey({ ...id, runtimeVersion: 'Python 9.9' }), key, 'a runtime upgrade is another image');
  assert.notEqual(imageKey({ ...id, codeSha256: '0'.repeat(64) }), key);

  const tier = new ImageTier();
  const tpid = templatePid('tiered');
  const demoted = tier.demote(key, 'tiered', tpid);
  assert.equal(demoted.state, 'paged-out');
  assert.ok(demoted.freedKB! > 20 * 1024, `freed ${demoted.freedKB} KB`);
  // First promotion: no working set yet; the next instance records it.
  assert.deepEqual(tier.promote(key), { prefetched: false, ms: 0, skippedRanges: 0 });
  assert.equal(tier.state(key), 'resident');
  assert.ok(tier.wantsWorkingSet(key));
  assert.deepEqual((await invoke(url, 'tiered', { k: 0 })).body, expected);
  const ws = tier.recordWorkingSet(key, instancePid('tiered'))!;
  assert.ok(ws.pages > 0);
  await h!.hearth.scheduler.removeFunction('tiered');

  tier.demote(key, 'tiered', tpid);
  const promoted = tier.promote(key)!;
  assert.equal(promoted.prefetched, true);
  assert.deepEqual((await invoke(url, 'tiered', { k: 0 })).body, expected);
  assert.equal(tier.get(key)!.demotions, 2);

  // A redeploy: only the new image's entry survives.
  assert.deepEqual(tier.invalidate('tiered', 'tiered@2#other'), [key]);
  assert.equal(tier.state(key), undefined);
  await h!.hearth.scheduler.removeFunction('tiered');
});
