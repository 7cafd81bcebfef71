// An instance's leaf cgroup inside its function's group: the manifest's memory
// limit, a pids limit, OOM detection, and removal when the instance is gone.
import crypto from 'node:crypto';
/** Tasks (processes and threads) an instance may have: enough for runtimes' thread pools, not for a fork bomb. */
export const INSTANCE_PIDS_MAX = 256;
export function instanceCgroupFor(manager, fn) {
    if (!manager)
        return undefined;
    const groupName = `fn-${fn.name}`;
    const group = manager.getGroup(groupName) ?? manager.createFunction(fn.name, {});
    const cgroup = group.createInstance(`v${fn.version}-${crypto.randomBytes(5).toString('hex')}`, { memoryMB: fn.manifest.memoryMB, pidsMax: INSTANCE_PIDS_MAX });
    return { cgroup, release: () => group.removeInstance(cgroup) };
}
//# sourceMappingURL=instance-cgroup.js.map