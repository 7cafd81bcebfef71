// One system under test, as its own process so that its memory and CPU are
// measured apart from the load generator: starts hearth with the system's
// configuration, prints {"url"} on stdout, and stops (everything it started
// with it) on SIGTERM/SIGINT or when its parent goes away (stdin closes).
// Usage (by the harness): node dist/bench/harness/server.js '<ServerSpec JSON>'
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startHearth, type RunningHearth } from '../../src/main.js';
import { CrunStarter } from '../baselines/crun-starter.js';
import type { SystemSpec } from './systems.js';

export interface ServerSpec {
  dataDir: string;
  system: SystemSpec;
}

const spec = JSON.parse(process.argv[2] ?? '') as ServerSpec;
let running: RunningHearth | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    const timer = setTimeout(() => process.exit(code || 1), 15_000);
    timer.unref();
    try {
      await running?.stop();
    } catch (error) {
      process.stderr.write(`bench server: stop failed: ${(error as Error).message}\n`);
    }
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}

process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));
process.stdin.resume();

try {
  const { system } = spec;
  const start = (config: SystemSpec['config']): Promise<RunningHearth> =>
    startHearth(
      { dataDir: spec.dataDir, host: '127.0.0.1', port: 0, maxInstances: 512, queueLength: 10_000, ...config },
      silentLogger(),
      system.crun
        ? (logs) => new Map([['cold', new CrunStarter({ runtimeDir: path.join(REPO_ROOT, 'runtimes'), logs, workDir: path.join(spec.dataDir, 'bundles'), hideUnifiedCgroup: fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers') })]])
        : undefined,
    );
  try {
    running = await start(system.config);
  } catch (error) {
    // A host whose filesystem refuses swap files: run without (templates are then dropped instead of paged out).
    if (!system.config.swapFile || !/cannot set up swap file/.test((error as Error).message)) throw error;
    process.stderr.write(`bench server: ${(error as Error).message}; running ${system.name} without a swap file\n`);
    const { swapFile: _none, ...rest } = system.config;
    running = await start(rest);
  }
  process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
} catch (error) {
  process.stderr.write(`bench server: ${(error as Error).stack ?? String(error)}\n`);
  await stop(1);
}
