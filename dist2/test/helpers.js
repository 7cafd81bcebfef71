// Shared test helpers: a real hearth on a random port with a throw-away data dir,
// and function packages written to temp directories.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHearth } from '../src/main.js';
import { silentLogger } from '../src/log.js';
import { zipDirectory } from '../src/cli/zip-dir.js';
export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const createdDirs = [];
process.on('exit', () => {
    for (const dir of createdDirs)
        fs.rmSync(dir, { recursive: true, force: true });
});
/** A temporary directory, removed when the test process exits. */
export function tempDir(prefix) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hearth-test-${prefix}-`));
    createdDirs.push(dir);
    return dir;
}
export async function startTestHearth(overrides = {}) {
    const dataDir = overrides.dataDir ?? tempDir('data');
    const running = await startHearth({ port: 0, keepAliveMs: 60_000, ...overrides, dataDir }, silentLogger());
    return {
        ...running,
        dataDir,
        cleanup: async () => {
            await running.stop();
            if (!overrides.dataDir)
                fs.rmSync(dataDir, { recursive: true, force: true });
        },
    };
}
/** Writes a function directory: `files` maps relative paths to contents; the manifest goes to hearth.json. */
export function writeFunction(manifest, files) {
    const dir = tempDir('fn');
    if (manifest)
        fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify(manifest));
    for (const [rel, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), content);
    }
    return dir;
}
export async function deployDir(url, dir, token) {
    const zip = await zipDirectory(dir);
    return fetch(`${url}/v1/functions`, {
        method: 'POST',
        headers: { 'content-type': 'application/zip', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: new Uint8Array(zip),
    });
}
export async function deployOk(url, dir) {
    const response = await deployDir(url, dir);
    const body = (await response.json());
    if (response.status !== 201)
        throw new Error(`deploy failed: ${response.status} ${JSON.stringify(body)}`);
    return body;
}
export async function invoke(url, name, event = {}) {
    const response = await fetch(`${url}/function/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    const text = await response.text();
    let body;
    try {
        body = JSON.parse(text);
    }
    catch {
        body = undefined;
    }
    return { status: response.status, headers: response.headers, body, text };
}
export const NODE_ECHO = {
    'index.mjs': `let inits = 0; inits++;
export const handler = async (event, context) => ({ echo: event, inits, requestId: context.awsRequestId, fn: context.functionName, pid: process.pid });
`,
};
export const PY_ECHO = {
    'app.py': `inits = 0
inits += 1
import os
def handler(event, context):
    return {"echo": event, "inits": inits, "requestId": context.aws_request_id, "fn": context.function_name, "pid": os.getpid()}
`,
};
//# sourceMappingURL=helpers.js.map