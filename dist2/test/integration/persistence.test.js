// Functions survive restarts; an interrupted deploy leaves the previous version intact.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { deployOk, invoke, startTestHearth, tempDir, writeFunction } from '../helpers.js';
test('restart keeps every function and version; orphans of a crashed deploy are removed', async () => {
    const dataDir = tempDir('persist');
    try {
        const first = await startTestHearth({ dataDir });
        const dir = writeFunction({ name: 'keeper', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'export const handler = () => "v1";' });
        await deployOk(first.url, dir);
        fs.writeFileSync(path.join(dir, 'index.mjs'), 'export const handler = () => "v2";');
        await deployOk(first.url, dir);
        await deployOk(first.url, writeFunction({ name: 'pykeeper', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'def handler(e, c):\n    return "py"\n' }));
        await first.cleanup();
        // Simulate a deploy that crashed after unpacking and renaming but before its row was committed.
        const orphan = path.join(dataDir, 'functions', 'keeper', 'v3-deadbeef0000');
        fs.mkdirSync(orphan, { recursive: true });
        fs.writeFileSync(path.join(orphan, 'index.mjs'), 'export const handler = () => "v3";');
        fs.mkdirSync(path.join(dataDir, 'staging', 'deploy-crashed'), { recursive: true });
        const second = await startTestHearth({ dataDir });
        try {
            assert.equal((await invoke(second.url, 'keeper')).body, 'v2');
            assert.equal((await invoke(second.url, 'pykeeper')).body, 'py');
            const got = (await (await fetch(`${second.url}/v1/functions/keeper`)).json());
            assert.equal(got.version, 2);
            assert.equal(got.versions.length, 2);
            assert.equal(fs.existsSync(orphan), false, 'orphan code dir removed');
            assert.deepEqual(fs.readdirSync(path.join(dataDir, 'staging')), []);
            // Deploying the same code and manifest again is a no-op; a change counts on after the restart.
            assert.equal((await deployOk(second.url, dir)).version, 2);
            fs.writeFileSync(path.join(dir, 'index.mjs'), 'export const handler = () => "v3";');
            assert.equal((await deployOk(second.url, dir)).version, 3);
            assert.equal((await invoke(second.url, 'keeper')).body, 'v3');
        }
        finally {
            await second.cleanup();
        }
    }
    finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
});
test('a failed deploy leaves the previous version serving', async () => {
    const h = await startTestHearth();
    try {
        const dir = writeFunction({ name: 'stable', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'export const handler = () => "good";' });
        await deployOk(h.url, dir);
        fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify({ name: 'stable', runtime: 'nodejs20', handler: 'missing.handler' }));
        const r = await fetch(`${h.url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: new Uint8Array(await (await import('../../src/cli/zip-dir.js')).zipDirectory(dir)) });
        assert.equal(r.status, 400);
        assert.equal((await invoke(h.url, 'stable')).body, 'good');
        const got = (await (await fetch(`${h.url}/v1/functions/stable`)).json());
        assert.equal(got.version, 1);
        assert.deepEqual(fs.readdirSync(path.join(h.dataDir, 'staging')), [], 'staging is cleaned after a failed deploy');
    }
    finally {
        await h.cleanup();
    }
});
//# sourceMappingURL=persistence.test.js.map