// The hearth CLI against a real server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO, startTestHearth, writeFunction, type TestHearth } from '../helpers.js';

const run = promisify(execFile);
let h: TestHearth;
before(async () => {
  h = await startTestHearth();
});
after(async () => {
  await h.cleanup();
});

async function hearth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(REPO, 'bin', 'hearth.js'), '--url', h.url, ...args], { env: { ...process.env, HEARTH_TOKEN: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('deploy, invoke, ls, logs, rm', async () => {
  const dir = writeFunction({ name: 'cli-fn', runtime: 'nodejs20', handler: 'index.handler' }, { 'index.mjs': 'export const handler = (e) => { console.log("cli says", e.who); return { hi: e.who }; };' });
  const deployed = await hearth('deploy', dir);
  assert.equal(deployed.code, 0, deployed.stderr);
  assert.match(deployed.stdout, /deployed cli-fn version 1/);

  const invoked = await hearth('invoke', 'cli-fn', '--data', '{"who":"cli"}', '--logs');
  assert.equal(invoked.code, 0, invoked.stderr);
  assert.deepEqual(JSON.parse(invoked.stdout), { hi: 'cli' });
  assert.match(invoked.stderr, /start path: (cold|repurpose) /);
  assert.match(invoked.stderr, /timings: queue [\d.]+ms {2}sandbox [\d.]+ms {2}process [\d.]+ms {2}init [\d.]+ms {2}exec [\d.]+ms/);
  assert.match(invoked.stderr, /cli says cli/);

  const warm = await hearth('invoke', 'cli-fn');
  assert.match(warm.stderr, /start path: warm/);

  const ls = await hearth('ls');
  assert.match(ls.stdout, /NAME\s+VERSION\s+RUNTIME/);
  assert.match(ls.stdout, /cli-fn\s+1\s+nodejs20\s+index\.handler\s+128MB\s+instances\s+1\s+0\s+0\s+[\d.]+MB/);

  const logs = await hearth('logs', 'cli-fn', '-n', '20');
  assert.match(logs.stdout, /stdout\tcli says cli/);

  const rm = await hearth('rm', 'cli-fn');
  assert.equal(rm.code, 0);
  assert.match(rm.stdout, /deleted cli-fn/);
  const ls2 = await hearth('ls', '--json');
  assert.deepEqual(JSON.parse(ls2.stdout).functions.filter((f: { name: string }) => f.name === 'cli-fn'), []);
});

test('function errors exit non-zero with the error; data from a file', async () => {
  const dir = writeFunction({ name: 'cli-err', runtime: 'python3.11', handler: 'app.handler' }, { 'app.py': 'def handler(e, c):\n    raise KeyError(e["k"])\n', 'event.json': '{"k":"missing"}' });
  await hearth('deploy', dir);
  const r = await hearth('invoke', 'cli-err', '--data', `@${path.join(dir, 'event.json')}`);
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.stdout).errorType, 'KeyError');
  assert.match(r.stderr, /error: function error \(handler\): KeyError/);
});

test('clear errors without stack traces; --debug shows them', async () => {
  const missing = await hearth('invoke', 'nope');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), "error: function 'nope' does not exist (HTTP 404)");
  const badData = await hearth('invoke', 'nope', '--data', '{oops');
  assert.match(badData.stderr, /^error: --data is not valid JSON/);
  assert.doesNotMatch(badData.stderr, /\n\s+at /);
  const noDir = await hearth('deploy', '/definitely/not/here');
  assert.equal(noDir.stderr.trim(), 'error: /definitely/not/here: no such file or directory');
  const debug = await hearth('--debug', 'deploy', '/definitely/not/here');
  assert.match(debug.stderr, /\n\s+at /);
  const down = await run(process.execPath, [path.join(REPO, 'bin', 'hearth.js'), '--url', 'http://127.0.0.1:1', 'ls']).catch((e: { stderr: string; code: number }) => e);
  assert.match((down as { stderr: string }).stderr, /cannot reach hearth at http:\/\/127\.0\.0\.1:1 .*is 'hearth up' running\?/);
});

test('--help lists the commands; unknown commands fail', async () => {
  const help = await hearth('--help');
  for (const cmd of ['up', 'deploy', 'invoke', 'ls', 'rm', 'logs']) assert.match(help.stdout, new RegExp(`\\n\\s+${cmd}\\b`));
  const unknown = await hearth('frobnicate');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});
