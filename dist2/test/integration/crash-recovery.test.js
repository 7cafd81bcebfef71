// The server killed with SIGKILL under load: nothing deployed is lost, nothing
// keeps running, and a restart serves every function again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { deployOk, invoke, REPO, tempDir, writeFunction } from '../helpers.js';
function startServer(dataDir, port) {
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'hearth.js'), 'up', '--port', String(port), '--data', dataDir, '--json-logs'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = `http://127.0.0.1:${port}`;
    return new Promise((resolve, reject) => {
        let output = '';
        const onData = (chunk) => {
            output += chunk.toString();
            if (output.includes('hearth is up'))
                resolve({ child, url });
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => reject(new Error(`hearth exited with ${code}: ${output}`)));
    });
}
/** Processes in the hearth cgroups of this data dir (instances, their sandbox supervisors, anything they started). */
function instanceProcesses(dataDir) {
    const root = `hearth-${crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12)}`;
    const pids = [];
    for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry))
            continue;
        try {
            const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
            const cgroup = fs.readFileSync(`/proc/${entry}/cgroup`, 'utf8');
            if (cgroup.includes(`/${root}/`) || cwd.startsWith(path.join(dataDir, 'functions')))
                pids.push(Number(entry));
        }
        catch {
            // gone or not ours
        }
    }
    return pids;
}
async function waitFor(condition, timeoutMs) {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
        if (condition())
            return true;
        await new Promise((r) => setTimeout(r, 50));
    }
    return condition();
}
test('SIGKILL under load: no instance survives, every function is there after restart', async () => {
    const dataDir = tempDir('sigkill');
    const port = 20000 + Math.floor(Math.random() * 20000);
    const first = await startServer(dataDir, port);
    try {
        await deployOk(first.url, writeFunction({ name: 'spinner', runtime: 'nodejs20', handler: 'index.handler', timeoutS: 60 }, { 'index.mjs': 'export const handler = (e) => { if (e.spin) for (;;) {} return "ok"; };' }));
        await deployOk(first.url, writeFunction({ name: 'pyspin', runtime: 'python3.11', handler: 'app.handler', timeoutS: 60 }, { 'app.py': 'def handler(e, c):\n    while e.get("spin"):\n        pass\n    return "ok"\n' }));
        await deployOk(first.url, writeFunction({ name: 'idler', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'export const handler = () => "idle";' }));
        assert.equal((await invoke(first.url, 'idler')).body, 'idle');
        // Two instances busy in endless loops, one idle.
        void invoke(first.url, 'spinner', { spin: true }).catch(() => undefined);
        void invoke(first.url, 'pyspin', { spin: true }).catch(() => undefined);
        assert.ok(await waitFor(() => instanceProcesses(dataDir).length >= 3, 10_000), 'three instances run');
    }
    finally {
        first.child.kill('SIGKILL');
    }
    assert.ok(await waitFor(() => instanceProcesses(dataDir).length === 0, 5000), `instances left running after SIGKILL: ${instanceProcesses(dataDir).join(', ')}`);
    const second = await startServer(dataDir, port + 1);
    try {
        assert.equal((await invoke(second.url, 'idler')).body, 'idle');
        assert.equal((await invoke(second.url, 'spinner')).body, 'ok');
        assert.equal((await invoke(second.url, 'pyspin')).body, 'ok');
    }
    finally {
        second.child.kill('SIGTERM');
        await new Promise((r) => second.child.once('exit', r));
    }
    assert.deepEqual(instanceProcesses(dataDir), [], 'a clean stop leaves nothing running');
});
//# sourceMappingURL=crash-recovery.test.js.map