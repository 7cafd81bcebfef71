// Everything the harness starts (server processes, data directories) is
// registered here and torn down on normal exit, error, SIGINT or SIGTERM.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function trackDir(dir: string): void {
  dirs.add(dir);
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/**
 * Synchronous last resort (process 'exit'): ask what is still running to stop
 * (SIGTERM: a server stops its instances, containers included, and exits; it
 * also stops when its stdin closes with this process) and remove what is left.
 */
export function cleanupNow(): void {
  for (const child of children) {
    try {
      child.kill('SIGTERM');
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const dir of dirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort: the process is exiting
    }
  }
  dirs.clear();
}

let installed = false;

/** Ctrl-C / SIGTERM abort the run through `controller`; a second signal exits at once (after cleanup). */
export function installSignalHandlers(controller: AbortController, log: (line: string) => void): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (controller.signal.aborted) {
        cleanupNow();
        process.exit(130);
      }
      log(`${signal}: stopping (again to force)`);
      controller.abort(new Error(`interrupted by ${signal}`));
    });
  }
}
