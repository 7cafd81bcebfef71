// pageOut() off the event loop: one worker thread (src/memory/pageout-worker.ts),
// started on first use, page-outs queued to it one at a time (they compete for
// the same disk anyway). unref'd: it never keeps hearth alive.
import { Worker } from 'node:worker_threads';
import type { PageOutResult } from './pageout.js';

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve(r: PageOutResult): void; reject(e: Error): void }>();

function failAll(error: Error): void {
  for (const p of pending.values()) p.reject(error);
  pending.clear();
  worker = undefined;
}

function theWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./pageout-worker.js', import.meta.url));
  w.on('message', (m: { id: number; result?: PageOutResult; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.result!);
  });
  w.on('error', (error) => failAll(error));
  w.on('exit', (code) => failAll(new Error(`page-out worker exited with ${code}`)));
  // After the listeners: attaching a 'message' listener refs the worker again.
  w.unref();
  worker = w;
  return w;
}

/** pageOut(pid) in the worker thread. */
export function pageOutAsync(pid: number): Promise<PageOutResult> {
  return new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject });
    theWorker().postMessage({ id, pid });
  });
}

/** Stops the worker (it is unref'd, so nothing needs to; for tests that check for leftover handles). */
export async function stopPageOutWorker(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}
