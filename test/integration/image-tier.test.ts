// The image tier end to end, in real sandboxes with a real swap file: templates
// paged out to images and restored on their next call (both runtimes), restored
// functions behaving like cold ones (same result, fresh randomness per instance),
// working sets recorded and prefetched, images invalidated by a redeploy, corrupt,
// truncated and stale image records detected and falling back to a cold start with
// a log line, and a memory budget far smaller than all templates together where
// every call still starts on a fast path. The swap file is removed in after().
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { ImageStore } from '../../src/memory/image-store.js';
import { startHearth } from '../../src/main.js';
import type { HearthConfig } from '../../src/config.js';
import { NATIVE_ADDON_PATH } from '../../src/sandbox/native.js';
import { deployOk, invoke, tempDir, testSwapFile, writeFunction } from '../helpers.js';

const skip = process.getuid?.() !== 0 ? 'needs root (swap, sandboxes, process_madvise)' : !fs.existsSync(NATIVE_ADDON_PATH) ? 'the native addon is not built' : false;

const { swap, skip: swapSkip } = await testSwapFile(512, skip);
after(async () => {
  await swap?.close();
});

interface LoggedHearth {
  url: string;
  hearth: Awaited<ReturnType<typeof startHearth>>['hearth'];
  logs: Array<Record<string, unknown>>;
  dataDir: string;
  stop(): Promise<void>;
}

/** A hearth whose log lines are kept (the fallback's log line is part of what is tested). */
async function startLogged(overrides: Partial<HearthConfig>): Promise<LoggedHearth> {
  const dataDir = tempDir('imgdata');
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const running = await startHearth({ port: 0, dataDir, keepAliveMs: 0, memorySampleMs: 0, templateIdleMs: 0, ...overrides }, pino({ level: 'info' }, sink));
  return { url: running.url, hearth: running.hearth, logs, dataDir, stop: () => running.stop() };
}

// Init builds 24 MB of anonymous data whose digest every call recomputes: a restored template
// that lost or mixed up pages would answer with another digest.
const PY = {
  'app.py': `import hashlib, os, random
DATA = bytearray(24 * 2**20)
for i in range(0, len(DATA), 512):
    DATA[i] = (i // 512) % 251
DIGEST = hashlib.sha256(DATA).hexdigest()
def handler(event, context):
    return {"digest": DIGEST, "check": hashlib.sha256(DATA).hexdigest(), "random": random.random(), "token": os.urandom(8).hex(), "v": VERSION}
VERSION = 1
`,
};
const NODE = {
  'index.mjs': `import crypto from 'node:crypto';
const data = Buffer.alloc(24 * 2 ** 20);
for (let i = 0; i < data.length; i += 512) data[i] = Math.floor(i / 512) % 251;
const digest = crypto.createHash('sha256').update(data).digest('hex');
const VERSION = 1;
export const handler = async () => ({ digest, check: crypto.createHash('sha256').update(data).digest('hex'), random: Math.random(), token: crypto.randomBytes(8).toString('hex'), v: VERSION });
`,
};
const EXPECTED_DIGEST = (() => {
  const data = Buffer.alloc(24 * 2 ** 20);
  for (let i = 0; i < data.length; i += 512) data[i] = Math.floor(i / 512) % 251;
  return crypto.createHash('sha256').update(data).digest('hex');
})();

interface Reply {
  digest: string;
  check: string;
  random: number;
  token: string;
  v: number;
}

async function call(h: LoggedHearth, name: string): Promise<{ path: string; body: Reply }> {
  // keepAliveMs 0: wait for the previous instance to be gone, so the call needs a new one.
  while (h.hearth.scheduler.liveInstances(name) > 0) await new Promise((r) => setTimeout(r, 2));
  const r = await invoke(h.url, name, {});
  assert.equal(r.status, 200, r.text);
  return { path: r.headers.get('x-hearth-start-path')!, body: r.body as Reply };
}

function template(h: LoggedHearth, name: string) {
  const t = h.hearth.templates!.templateOf(name);
  assert.ok(t, `template of ${name}`);
  return t;
}

async function demote(h: LoggedHearth, name: string): Promise<void> {
  await h.hearth.templates!.tier!.demote(template(h, name), 'memory');
  assert.equal(h.hearth.tierOf(name).tier, 'image');
}

async function metric(h: LoggedHearth, line: RegExp): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

for (const [runtime, files, handler] of [
  ['python3.11', PY, 'app.handler'],
  ['nodejs20', NODE, 'index.handler'],
] as const) {
  describe(`image tier (${runtime})`, { skip: swapSkip }, () => {
    let h: LoggedHearth;
    const name = `img-${runtime.startsWith('node') ? 'node' : 'py'}`;
    before(async () => {
      h = await startLogged({ forkSpares: 1 });
      await deployOk(h.url, writeFunction({ name, runtime, handler, memoryMB: 256 }, files));
    });
    after(async () => h?.stop());

    test('a paged-out template costs little RAM and its next call restores it with the same result', async () => {
      const first = await call(h, name);
      assert.equal(first.path, 'repurpose');
      assert.equal(first.body.digest, EXPECTED_DIGEST);
      const t = template(h, name);
      const before = h.hearth.memoryReport().templates.find((x) => x.pid === t.processPid)!;
      await demote(h, name);
      const afterDemote = h.hearth.memoryReport().templates.find((x) => x.pid === t.processPid)!;
      // (Before, the template shared its pages with its spare, which halves its PSS; the spare is dropped first.)
      assert.ok(afterDemote.pssKB < before.pssKB * 0.6, `template PSS ${before.pssKB} KB → ${afterDemote.pssKB} KB`);
      assert.ok(afterDemote.swapKB > 20 * 1024, `its 24 MB of data is in swap (${afterDemote.swapKB} KB)`);
      const info = h.hearth.tierOf(name).template!;
      assert.equal(info.state, 'paged-out');
      assert.ok(info.diskBytes > 10 * 2 ** 20, `image disk ${info.diskBytes}`);
      assert.ok(fs.existsSync(path.join(h.dataDir, 'images', `${name}@1.json`)), 'the image record is on disk');

      // Observable: the API's tier, disk and start paths, the tier gauge, `hearth ls`'s source.
      const api = (await (await fetch(`${h.url}/v1/functions/${name}`)).json()) as { tier: string; template: { state: string; diskBytes: number }; startPaths: Record<string, number> };
      assert.equal(api.tier, 'image');
      assert.equal(api.template.state, 'paged-out');
      assert.ok(api.template.diskBytes > 10 * 2 ** 20);
      assert.equal(api.startPaths.repurpose, 1);
      const list = (await (await fetch(`${h.url}/v1/functions`)).json()) as { functions: Array<{ name: string; tier: string; diskBytes: number }> };
      assert.equal(list.functions.find((f) => f.name === name)?.tier, 'image');
      assert.equal(await metric(h, new RegExp(`^hearth_function_tier\\{function="${name}",tier="image"\\}`)), 1);
      assert.ok((await metric(h, /^hearth_image_disk_bytes /)) > 10 * 2 ** 20);

      const restored = await call(h, name);
      assert.equal(restored.path, 'restore');
      assert.deepEqual([restored.body.digest, restored.body.check, restored.body.v], [EXPECTED_DIGEST, EXPECTED_DIGEST, 1]);
      assert.equal(h.hearth.tierOf(name).template!.state, 'resident');
      assert.equal(await metric(h, /^hearth_image_restores_total\{outcome="ok"\}/), 1);
      // The next new instance forks from the restored template (its spare, or on demand).
      const next = await call(h, name);
      assert.equal(next.path, 'fork');
      assert.equal(next.body.digest, EXPECTED_DIGEST);
      assert.notEqual(next.body.random, restored.body.random, 'Math.random/random differs per instance');
      assert.notEqual(next.body.token, restored.body.token, 'crypto randomness differs per instance');
    });

    test('the first restore records a working set, the next restore prefetches it', async () => {
      const info = h.hearth.tierOf(name).template!;
      assert.ok((info.workingSetBytes ?? 0) > 0, `a working set was recorded (${info.workingSetBytes} bytes)`);
      await demote(h, name);
      const store = new ImageStore(path.join(h.dataDir, 'images'));
      const record = JSON.parse(fs.readFileSync(store.fileFor(name, 1), 'utf8')) as { body: { workingSet?: { pages: number } } };
      assert.ok((record.body.workingSet?.pages ?? 0) > 0, 'the record carries the working set');
      const tokens = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const r = await call(h, name);
        assert.equal(r.path, i === 0 ? 'restore' : 'fork');
        assert.equal(r.body.check, EXPECTED_DIGEST);
        tokens.add(r.body.token);
      }
      assert.equal(tokens.size, 3);
    });

    for (const [kind, damage] of [
      ['corrupt', (file: string) => {
        // One changed field in the body (the prefetch ranges), the checksum left as it was.
        const record = JSON.parse(fs.readFileSync(file, 'utf8')) as { body: { workingSet?: { ranges: number[] }; demotedAt: number } };
        if (record.body.workingSet?.ranges.length) record.body.workingSet.ranges[0]! += 4096;
        else record.body.demotedAt += 1;
        fs.writeFileSync(file, JSON.stringify(record));
      }],
      ['truncated', (file: string) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2))],
      ['stale', (file: string) => {
        // A well-formed record (valid checksum) of another runtime version: an upgrade happened.
        const store = new ImageStore(path.dirname(file));
        const body = (JSON.parse(fs.readFileSync(file, 'utf8')) as { body: Parameters<ImageStore['write']>[0] }).body;
        store.write({ ...body, key: `${body.key}-other-runtime`, runtimeVersion: 'v0.0.0' });
      }],
    ] as const) {
      test(`a ${kind} image record is detected: the call starts cold, with the right result and a log line`, async () => {
        await call(h, name);
        await demote(h, name);
        const file = new ImageStore(path.join(h.dataDir, 'images')).fileFor(name, 1);
        damage(file);
        const logsBefore = h.logs.length;
        const r = await call(h, name);
        assert.equal(r.path, 'cold');
        assert.equal(r.body.check, EXPECTED_DIGEST);
        const line = h.logs.slice(logsBefore).find((l) => l.msg === 'image failed its check: dropping it and starting cold');
        assert.ok(line, 'a log line says why');
        assert.equal(line.reason, kind === 'truncated' ? 'corrupt' : kind);
        assert.equal(h.hearth.templates!.templateOf(name), undefined, 'the bad image is dropped');
        assert.ok(!fs.existsSync(file), 'its record is removed');
        assert.ok((await metric(h, new RegExp(`^hearth_image_restores_total\\{outcome="${kind === 'truncated' ? 'corrupt' : kind}"\\}`))) >= 1);
        // The function goes on: the next new instance makes a new template.
        assert.equal((await call(h, name)).path, 'repurpose');
      });
    }

    test('a redeploy invalidates the image: the new version never restores the old one', async () => {
      await call(h, name);
      await demote(h, name);
      const v2 = Object.fromEntries(Object.entries(files).map(([f, text]) => [f, text.replace(/VERSION = 1/, 'VERSION = 2')]));
      await deployOk(h.url, writeFunction({ name, runtime, handler, memoryMB: 256 }, v2));
      const r = await call(h, name);
      assert.equal(r.path, 'repurpose');
      assert.equal(r.body.v, 2);
      assert.ok(!fs.existsSync(new ImageStore(path.join(h.dataDir, 'images')).fileFor(name, 1)), 'the old image record is gone');
    });
  });
}

describe('memory budget far smaller than all templates together', { skip: swapSkip }, () => {
  let h: LoggedHearth;
  const names = ['cap-a', 'cap-b', 'cap-c', 'cap-d', 'cap-e', 'cap-f'];
  // Each template holds ~48 MB; six of them (~290 MB) next to a budget that fits about two.
  const BIG = { 'app.py': PY['app.py'].replace('24 * 2**20', '48 * 2**20') };
  before(async () => {
    h = await startLogged({ forkSpares: 0, memorySampleMs: 100 });
    for (const name of names) await deployOk(h.url, writeFunction({ name, runtime: 'python3.11', handler: 'app.handler', memoryMB: 64 }, BIG));
  });
  after(async () => h?.stop());

  test('every call after the first of each function starts on a fast path and memory stays under the budget', async () => {
    // Zygotes are part of the budget: measure them, then allow two templates and one instance on top.
    await call(h, names[0]!);
    const report = h.hearth.memoryReport();
    const zygotesMB = report.totals.zygotes.pssKB / 1024;
    const templateMB = report.templates[0]!.pssKB / 1024;
    const budgetMB = Math.ceil(zygotesMB + 2 * templateMB + 64 + 16);
    (h.hearth.config as { memoryBudgetMB: number }).memoryBudgetMB = budgetMB;
    (h.hearth.scheduler as unknown as { limits: { memoryBudgetMB: number } }).limits.memoryBudgetMB = budgetMB;
    const paths = new Map<string, number>();
    let peakMB = 0;
    const sampler = setInterval(() => (peakMB = Math.max(peakMB, h.hearth.scheduler.memoryUsedMB())), 20);
    try {
      for (let round = 0; round < 4; round++) {
        for (const name of names) {
          const r = await call(h, name);
          assert.equal(r.body.check, r.body.digest);
          if (round > 0) paths.set(r.path, (paths.get(r.path) ?? 0) + 1);
        }
      }
    } finally {
      clearInterval(sampler);
    }
    const fast = (paths.get('fork') ?? 0) + (paths.get('restore') ?? 0);
    assert.equal(fast, 3 * names.length, `start paths after the first round: ${JSON.stringify(Object.fromEntries(paths))}`);
    assert.ok(await metric(h, /^hearth_template_demotions_total\{reason="(memory|pressure)"\}/) > 0);
    // Settled (demotions done, sampled): within the budget.
    await new Promise((r) => setTimeout(r, 500));
    h.hearth.memoryReport();
    assert.ok(h.hearth.scheduler.memoryUsedMB() <= budgetMB, `used ${h.hearth.scheduler.memoryUsedMB().toFixed(0)} MB of ${budgetMB} MB (peak seen ${peakMB.toFixed(0)} MB)`);
    // A restored template stays mostly in swap (only what its calls touch comes back), so it may stay resident.
    assert.ok((paths.get('restore') ?? 0) >= names.length / 2, `templates were restored: ${JSON.stringify(Object.fromEntries(paths))}`);
  });
});

describe('idle templates and the image disk budget', { skip: swapSkip }, () => {
  let h: LoggedHearth;
  before(async () => {
    // Sampled every 100 ms (the tier's upkeep runs after each sample); idle after 400 ms; 8 MB of disk for images.
    h = await startLogged({ forkSpares: 0, memorySampleMs: 100, templateIdleMs: 400, imageDiskBudgetMB: 8 });
    await deployOk(h.url, writeFunction({ name: 'idle-fn', runtime: 'python3.11', handler: 'app.handler', memoryMB: 128 }, PY));
  });
  after(async () => h?.stop());

  test('a template unused for templateIdleMs is paged out by itself; an image beyond the disk budget is dropped', async () => {
    assert.equal((await call(h, 'idle-fn')).path, 'repurpose');
    const seen = new Set<string>();
    for (let i = 0; i < 200 && h.hearth.tierOf('idle-fn').tier !== 'none'; i++) {
      seen.add(h.hearth.tierOf('idle-fn').tier);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(h.hearth.tierOf('idle-fn').tier, 'none', `tiers seen: ${[...seen].join(', ')}`);
    assert.ok(await metric(h, /^hearth_template_demotions_total\{reason="idle"\}/) >= 1, 'demoted for idleness');
    assert.ok(await metric(h, /^hearth_template_evictions_total\{tier="image",reason="disk"\}/) >= 1, 'its 24 MB image did not fit 8 MB of disk');
    assert.ok(h.logs.some((l) => l.msg === 'image dropped (disk budget)'));
    // Still correct: the next call makes a new template.
    const r = await call(h, 'idle-fn');
    assert.equal(r.path, 'repurpose');
    assert.equal(r.body.check, EXPECTED_DIGEST);
  });
});
