// Paging a template out (process_madvise(MADV_PAGEOUT)) takes ~100 ms per 100 MB:
// long enough to stall every call on the agent's event loop. This worker thread
// runs it instead. Messages: {id, pid} → {id, result} | {id, error}.
import { parentPort } from 'node:worker_threads';
import { pageOut } from './pageout.js';

parentPort!.on('message', (message: { id: number; pid: number }) => {
  try {
    parentPort!.postMessage({ id: message.id, result: pageOut(message.pid) });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: (error as Error).message });
  }
});
