// Shared test helpers: a real hearth on a random port with a throw-away data dir,
// and function packages written to temp directories.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHearth, type RunningHearth } from '../src/main.js';
import type { HearthConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { zipDirectory } from '../src/cli/zip-dir.js';
import { createSwapFile, type SwapArea } from '../src/memory/swap.js';

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

const createdDirs: string[] = [];
process.on('exit', () => {
  for (const dir of createdDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hearth-test-${prefix}-`));
  createdDirs.push(dir);
  return dir;
}

export interface TestHearth extends RunningHearth {
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function startTestHearth(overrides: Partial<HearthConfig> = {}): Promise<TestHearth> {
  const dataDir = overrides.dataDir ?? tempDir('data');
  const running = await startHearth({ port: 0, keepAliveMs: 60_000, ...overrides, dataDir }, silentLogger());
  return {
    ...running,
    dataDir,
    cleanup: async () => {
      await running.stop();
      if (!overrides.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Writes a function directory: `files` maps relative paths to contents; the manifest goes to hearth.json. */
export function writeFunction(manifest: Record<string, unknown> | undefined, files: Record<string, string>): string {
  const dir = tempDir('fn');
  if (manifest) fs.writeFileSync(path.join(dir, 'hearth.json'), JSON.stringify(manifest));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

export async function deployDir(url: string, dir: string, token?: string): Promise<Response> {
  const zip = await zipDirectory(dir);
  return fetch(`${url}/v1/functions`, {
    method: 'POST',
    headers: { 'content-type': 'application/zip', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: new Uint8Array(zip),
  });
}

export async function deployOk(url: string, dir: string): Promise<{ name: string; version: number }> {
  const response = await deployDir(url, dir);
  const body = (await response.json()) as { name: string; version: number };
  if (response.status !== 201) throw new Error(`deploy failed: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

export async function invoke(url: string, name: string, event: unknown = {}): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
  const response = await fetch(`${url}/function/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
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

/**
 * `n` calls of `name`, each on a new instance (keepAliveMs 0: the previous one is gone
 * first), collecting the `random` and `uuid` each returned and the start paths taken.
 */
export async function newInstanceCalls(h: TestHearth, name: string, n: number): Promise<{ randoms: Set<number>; uuids: Set<string>; paths: Map<string, number> }> {
  const randoms = new Set<number>();
  const uuids = new Set<string>();
  const paths = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    while (h.hearth.scheduler.stats(name)[0]?.instances.length) await new Promise((r) => setTimeout(r, 1));
    const r = await invoke(h.url, name);
    if (r.status !== 200) throw new Error(`call ${i} of ${name}: ${r.status} ${r.text}`);
    const body = r.body as { random: number; uuid: string };
    randoms.add(body.random);
    uuids.add(body.uuid);
    const p = r.headers.get('x-hearth-start-path')!;
    paths.set(p, (paths.get(p) ?? 0) + 1);
  }
  return { randoms, uuids, paths };
}

/**
 * A swap file for the image-tier tests (`skip`: why they cannot run at all). Call it with
 * top-level await, so that tests can be skipped by its outcome when they are defined (a
 * `skip` option is read then, not when before() runs); the caller closes it in after().
 */
export async function testSwapFile(sizeMB: number, skip: string | false): Promise<{ swap: SwapArea | undefined; skip: string | false }> {
  if (skip) return { swap: undefined, skip };
  try {
    return { swap: await createSwapFile(path.join(tempDir('swap'), 'test.swap'), sizeMB), skip: false };
  } catch (error) {
    return { swap: undefined, skip: `the kernel refuses swap here: ${(error as Error).message}` };
  }
}
