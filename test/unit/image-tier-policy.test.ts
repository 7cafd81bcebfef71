// The image tier's pure parts: GreedyDual keep-alive values (which template is
// demoted first) and the image record's checks (checksum, identity, process).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { GreedyDual } from '../../src/memory/greedy-dual.js';
import { ImageRecordError, ImageStore, processStartTicks, type ImageRecord } from '../../src/memory/image-store.js';
import { imageKey, runtimeVersionOf } from '../../src/memory/tier.js';

test('GreedyDual: the victim is the lowest frequency × cost per MB', () => {
  const gd = new GreedyDual();
  gd.touch('cheap-big', 50, 200); // 0.25 per MB
  gd.touch('costly-small', 900, 30); // 30 per MB
  gd.touch('popular', 100, 100); // 1 per MB, then more calls
  for (let i = 0; i < 9; i++) gd.touch('popular');
  assert.equal(gd.victim(['cheap-big', 'costly-small', 'popular'])?.key, 'cheap-big');
  assert.equal(gd.victim(['costly-small', 'popular'])?.key, 'popular');
  assert.equal(gd.get('popular')?.frequency, 10);
});

test('GreedyDual: evictions advance the clock, so entries not touched since age (no fixed TTL)', () => {
  const gd = new GreedyDual();
  gd.touch('old', 1000, 10); // value 100
  gd.touch('victim', 10, 1); // value 10
  gd.evicted('victim');
  assert.equal(gd.currentClock, 10);
  // Evictions keep happening; 'old' is never touched again.
  for (let i = 0; i < 20; i++) {
    gd.touch(`n${i}`, 10, 1);
    gd.evicted(gd.victim([`n${i}`])!.key);
  }
  gd.touch('fresh', 10, 1); // clock (≥ 200) + 10
  assert.ok(gd.currentClock > 100);
  assert.equal(gd.victim(['old', 'fresh'])?.key, 'old', 'a once-valuable entry not used for long goes first');
  gd.forget('old');
  assert.equal(gd.get('old'), undefined);
});

function record(dir: string, over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    key: 'fn@1#abc',
    name: 'fn',
    version: 1,
    runtime: 'python3.11',
    runtimeVersion: 'Python 3.11.2',
    codeSha256: 'c0de',
    pid: process.pid,
    pidStartTicks: processStartTicks(process.pid)!,
    demotedAt: Date.now(),
    workingSet: { ranges: [4096, 8192], pages: 2, bytes: 8192 },
    ...over,
  };
}

test('ImageStore: a record reads back only when its checksum, key and process all match', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-unit-images-'));
  try {
    const store = new ImageStore(dir);
    const expect = { key: 'fn@1#abc', pid: process.pid };
    store.write(record(dir));
    assert.deepEqual(store.read('fn', 1, expect).workingSet, { ranges: [4096, 8192], pages: 2, bytes: 8192 });

    const reason = (fn: () => unknown): string => {
      try {
        fn();
      } catch (error) {
        assert.ok(error instanceof ImageRecordError);
        return error.reason;
      }
      return 'accepted';
    };
    assert.equal(reason(() => store.read('fn', 2, expect)), 'missing');
    assert.equal(reason(() => store.read('fn', 1, { ...expect, key: 'fn@1#other' })), 'stale');
    assert.equal(reason(() => store.read('fn', 1, { ...expect, pid: 1 })), 'stale');
    store.write(record(dir, { pidStartTicks: '1' }));
    assert.equal(reason(() => store.read('fn', 1, expect)), 'stale', 'same pid, other process (pid reuse)');

    store.write(record(dir));
    const file = store.fileFor('fn', 1);
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, good.replace('"pages":2', '"pages":3'));
    assert.equal(reason(() => store.read('fn', 1, expect)), 'corrupt', 'a changed body fails the checksum');
    fs.writeFileSync(file, good.slice(0, good.length - 20));
    assert.equal(reason(() => store.read('fn', 1, expect)), 'corrupt', 'truncated');
    fs.writeFileSync(file, '');
    assert.equal(reason(() => store.read('fn', 1, expect)), 'corrupt', 'empty');
    fs.writeFileSync(file, good.replace('hearth-image/1', 'hearth-image/0'));
    assert.equal(reason(() => store.read('fn', 1, expect)), 'corrupt', 'another format');

    assert.throws(() => store.write(record(dir, { workingSet: { ranges: [1], pages: 1, bytes: 4096 } })), /pairs/);
    assert.ok(store.sizeBytes('fn', 1) > 0);
    store.remove('fn', 1);
    assert.equal(store.sizeBytes('fn', 1), 0);
    assert.deepEqual(fs.readdirSync(dir), [], 'no temp files left behind');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runtimeVersionOf: an upgraded runtime binary (replaced file) gives another version, so its images are stale', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-unit-runtime-'));
  try {
    const bin = path.join(dir, 'python3');
    fs.writeFileSync(bin, '#!/bin/sh\necho "Python 3.11.2"\n', { mode: 0o755 });
    const v1 = runtimeVersionOf(bin);
    assert.match(v1, /^Python 3\.11\.2 /);
    assert.equal(runtimeVersionOf(bin), v1, 'cached while the file is unchanged');
    // An upgrade replaces the file (new inode), as dpkg does.
    fs.writeFileSync(`${bin}.new`, '#!/bin/sh\necho "Python 3.11.9"\n', { mode: 0o755 });
    fs.renameSync(`${bin}.new`, bin);
    const v2 = runtimeVersionOf(bin);
    assert.match(v2, /^Python 3\.11\.9 /);
    assert.notEqual(imageKey({ name: 'f', version: 1, codeSha256: 'c', runtime: 'python3.11', runtimeVersion: v1 }), imageKey({ name: 'f', version: 1, codeSha256: 'c', runtime: 'python3.11', runtimeVersion: v2 }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
