// The cold start path inside a sandbox: a shell from the pool (network
// namespace, cgroup, uid range), then hearth-enter runs the enter-sandbox
// sequence (docs/security.md) and execs the runtime's bootstrap.
import path from 'node:path';
import { makeSandboxPlan, SANDBOX_CODE_DIR, SANDBOX_RUNTIME_DIR, SandboxEnterError, spawnSandboxed } from '../sandbox/enter.js';
import { INSTANCE_PIDS_MAX } from '../sandbox/instance-cgroup.js';
import { coldInstanceFromChild } from './cold-start.js';
import { InitError } from './instance.js';
import { instanceEnvironment } from './starter.js';
export class SandboxedColdStarter {
    options;
    path = 'cold';
    constructor(options) {
        this.options = options;
    }
    canStart() {
        return true;
    }
    command(fn) {
        if (fn.manifest.runtime === 'nodejs20')
            return [this.options.nodeBinary, `${SANDBOX_RUNTIME_DIR}/node/bootstrap.mjs`];
        return [this.options.pythonBinary, '-X', 'utf8', `${SANDBOX_RUNTIME_DIR}/python/bootstrap.py`];
    }
    async start(fn) {
        const t0 = performance.now();
        const { shells } = this.options;
        const shell = await shells.acquire({ netKind: fn.manifest.network, memoryMB: fn.manifest.memoryMB, pidsMax: INSTANCE_PIDS_MAX });
        const command = this.command(fn);
        // Runtimes installed outside /usr (the base every sandbox gets) are added read-only.
        const extraReadonly = command.slice(0, 1).map((bin) => path.dirname(bin)).filter((dir) => !dir.startsWith('/usr/'));
        const plan = makeSandboxPlan({
            codeDir: fn.codeDir,
            runtimeDir: this.options.runtimeDir,
            ids: shell.ids,
            netnsPath: shell.netns.path,
            cgroup: shell.templateCgroup.target(),
            hostname: fn.name.toLowerCase().slice(0, 63),
            extraReadonly,
        });
        const { child, entered } = spawnSandboxed(plan, command, { env: instanceEnvironment(fn, SANDBOX_CODE_DIR), stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
        let sandboxedPid;
        try {
            sandboxedPid = (await entered).pid;
        }
        catch (error) {
            child.kill('SIGKILL');
            await shells.purge(shell);
            const detail = error instanceof SandboxEnterError ? `step ${error.step} (${error.errno})` : error.message;
            throw new InitError({ errorType: 'Sandbox.SetupError', errorMessage: `the sandbox could not be set up: ${detail}` }, 'crash');
        }
        const sandboxMs = performance.now() - t0;
        // hearth-enter supervises the sandbox: killing it (the instance's pid) kills everything inside.
        return coldInstanceFromChild(fn, child, this.options.logs, { t0, sandboxMs, initTimeoutMs: this.options.initTimeoutMs }, {
            ...(sandboxedPid !== undefined ? { accountingPid: sandboxedPid } : {}),
            wasOomKilled: () => shell.templateCgroup.outOfMemory(),
            cleanup: async () => {
                await shells.purge(shell);
            },
        });
    }
}
//# sourceMappingURL=sandboxed-cold-start.js.map