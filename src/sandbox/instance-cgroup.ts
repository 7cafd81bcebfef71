// An instance's leaf cgroup inside its function's group: the manifest's memory
// limit, a pids limit, OOM detection, and removal when the instance is gone.
import crypto from 'node:crypto';
import type { FunctionVersion } from '../registry/store.js';
import type { CgroupManager, InstanceCgroup } from './cgroups.js';

/** Tasks (processes and threads) an instance may have: enough for runtimes' thread pools, not for a fork bomb. */
export const INSTANCE_PIDS_MAX = 256;

export interface LeasedCgroup {
  cgroup: InstanceCgroup;
  /** Kills what is left in the leaf and removes it. */
  release(): Promise<void>;
}

export function instanceCgroupFor(manager: CgroupManager | undefined, fn: FunctionVersion): LeasedCgroup | undefined {
  if (!manager) return undefined;
  const groupName = `fn-${fn.name}`;
  const group = manager.getGroup(groupName) ?? manager.createFunction(fn.name, {});
  const cgroup = group.createInstance(`v${fn.version}-${crypto.randomBytes(5).toString('hex')}`, { memoryMB: fn.manifest.memoryMB, pidsMax: INSTANCE_PIDS_MAX });
  return { cgroup, release: () => group.removeInstance(cgroup) };
}
