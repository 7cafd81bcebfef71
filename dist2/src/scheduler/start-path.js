/** Fastest first (docs/architecture.md, "Start paths"). */
export const START_PATH_ORDER = ['fork', 'repurpose', 'restore', 'cold'];
export function chooseStarter(fn, starters) {
    for (const path of START_PATH_ORDER) {
        const starter = starters.get(path);
        if (starter?.canStart(fn))
            return starter;
    }
    throw new Error(`no start path can start ${fn.name}: is the cold starter registered?`);
}
//# sourceMappingURL=start-path.js.map