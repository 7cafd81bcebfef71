// The one place where the start path of an invocation is chosen.
// warm (an idle instance) is decided by the scheduler before this is asked;
// among the starters, the fastest path that can start the function now wins.
import type { StartPath } from '../instances/instance.js';
import type { InstanceStarter } from '../instances/starter.js';
import type { FunctionVersion } from '../registry/store.js';

/** Fastest first (docs/architecture.md, "Start paths"). */
export const START_PATH_ORDER: ReadonlyArray<Exclude<StartPath, 'warm'>> = ['fork', 'restore', 'repurpose', 'cold'];

export function chooseStarter(fn: FunctionVersion, starters: ReadonlyMap<Exclude<StartPath, 'warm'>, InstanceStarter>): InstanceStarter {
  for (const path of START_PATH_ORDER) {
    const starter = starters.get(path);
    if (starter?.canStart(fn)) return starter;
  }
  throw new Error(`no start path can start ${fn.name}: is the cold starter registered?`);
}
