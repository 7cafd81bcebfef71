// An instance: a runtime process that loaded one function version and serves one
// invocation at a time over the channel (docs/protocol.md). How it was started
// (cold spawn, fork of a template, restore) is not its concern.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { captureOutput } from './output-capture.js';
import { encodeFrame, readFrames } from './protocol.js';
export class InitError extends Error {
    error;
    kind;
    constructor(error, kind = 'handler') {
        super(error.errorMessage);
        this.error = error;
        this.kind = kind;
        this.name = 'InitError';
    }
}
let instanceCounter = 0;
export class Instance extends EventEmitter {
    fn;
    startPath;
    proc;
    channel;
    logs;
    id;
    state = 'starting';
    /** performance.now() of the last completed call (monotonic, sub-millisecond: used for LRU). */
    lastUsed = performance.now();
    invocations = 0;
    initMs = 0;
    pending;
    /**
     * Per output stream, the invocations whose end sentinel has not been read on that
     * stream yet, oldest first: output read from the stream belongs to the first. The
     * result frame can be read before the last output (another fd), so attribution
     * follows the sentinels, not `pending`.
     */
    outputOwners = { stdout: [], stderr: [] };
    readyWaiter;
    /** The last lines of output outside any invocation (shown when the process dies during init). */
    recentOutput = [];
    exitInfo;
    /** Resolves once the process is gone and the starter's cleanup ran. */
    gone;
    markGone;
    constructor(fn, startPath, proc, channel, logs) {
        super();
        this.fn = fn;
        this.startPath = startPath;
        this.proc = proc;
        this.channel = channel;
        this.logs = logs;
        this.gone = new Promise((resolve) => (this.markGone = resolve));
        this.id = `${fn.name}-${fn.version}-${++instanceCounter}`;
        readFrames(channel, (m) => this.onMessage(m), (e) => this.fail(`protocol error: ${e.message}`));
        channel.on('error', () => undefined); // the exit handler reports the failure
        for (const [name, stream] of [['stdout', proc.stdout], ['stderr', proc.stderr]]) {
            if (!stream)
                continue;
            captureOutput(stream, {
                line: (text) => {
                    const owner = this.outputOwners[name][0];
                    this.logs.append(fn.name, owner?.request.id, name, text);
                    if (owner)
                        owner.logLines.push(text);
                    else if (this.recentOutput.push(text) > 10)
                        this.recentOutput.shift();
                },
                end: (requestId) => {
                    const owners = this.outputOwners[name];
                    const i = owners.findIndex((o) => o.request.id === requestId);
                    if (i === -1)
                        return;
                    const p = owners.splice(0, i + 1)[i];
                    if (++p.streamsEnded === 2)
                        p.resolveLogs(p.logLines.join('\n'));
                },
            });
        }
        void proc.exited.then((info) => this.onExit(info));
    }
    get pid() {
        return this.proc.pid;
    }
    /** Waits for the instance's `ready` message; rejects with InitError on init failure, exit or timeout. */
    waitReady(timeoutMs) {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.readyWaiter = undefined;
                this.kill();
                reject(new InitError({ errorType: 'Runtime.InitTimeout', errorMessage: `init did not finish within ${(timeoutMs / 1000).toFixed(2)} seconds` }, 'timeout'));
            }, timeoutMs);
            this.readyWaiter = {
                resolve: (initMs) => {
                    clearTimeout(timer);
                    resolve(initMs);
                },
                reject: (e) => {
                    clearTimeout(timer);
                    reject(e);
                },
            };
        });
    }
    onMessage(message) {
        switch (message.t) {
            case 'ready':
                this.initMs = message.initMs;
                this.state = 'idle';
                this.readyWaiter?.resolve(message.initMs);
                this.readyWaiter = undefined;
                return;
            case 'init_error':
                this.readyWaiter?.reject(new InitError(message.error));
                this.readyWaiter = undefined;
                return;
            case 'result': {
                const p = this.pending;
                if (!p || p.request.id !== message.id)
                    return this.fail(`result for unknown request ${message.id}`);
                // The runtime is about to exit (uncaught error): never hand it another invocation.
                if (message.exiting)
                    this.state = 'dead';
                this.finish(message.ok
                    ? { ok: true, payload: message.payload, execMs: message.execMs, startedAt: message.startedAt }
                    : { ok: false, error: message.error, errorKind: 'handler', execMs: message.execMs, startedAt: message.startedAt });
                return;
            }
            default:
                this.fail(`unexpected message ${JSON.stringify(message.t)}`);
        }
    }
    invoke(request) {
        if (this.state !== 'idle')
            throw new Error(`instance ${this.id} is ${this.state}, not idle`);
        this.state = 'busy';
        this.invocations += 1;
        return new Promise((resolve) => {
            let resolveLogs;
            const logsPromise = new Promise((r) => (resolveLogs = r));
            const timeoutMs = Math.max(0, request.deadline - Date.now());
            const pending = {
                request,
                sentAt: performance.now(),
                logLines: [],
                streamsEnded: 0,
                resolveLogs,
                timer: setTimeout(() => this.onTimeout(), timeoutMs),
                resolve: (outcome) => resolve({ ...outcome, logs: logsPromise }),
            };
            this.pending = pending;
            if (this.proc.stdout)
                this.outputOwners.stdout.push(pending);
            if (this.proc.stderr)
                this.outputOwners.stderr.push(pending);
            this.channel.write(encodeFrame({ t: 'invoke', id: request.id, event: request.event, deadline: request.deadline, context: request.context }));
        });
    }
    finish(outcome) {
        const p = this.pending;
        if (!p)
            return;
        clearTimeout(p.timer);
        if (this.state === 'busy')
            this.state = 'idle';
        this.lastUsed = performance.now();
        // Output normally ends with the sentinels right before the result; don't wait forever for them.
        if (p.streamsEnded < 2)
            setTimeout(() => p.resolveLogs(p.logLines.join('\n')), 200).unref();
        this.pending = undefined;
        p.resolve(outcome);
    }
    onTimeout() {
        const p = this.pending;
        if (!p)
            return;
        const seconds = (this.fn.manifest.timeoutS).toFixed(2);
        this.kill();
        this.finishWithError({ errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${seconds} seconds` }, 'timeout');
    }
    finishWithError(error, kind) {
        const p = this.pending;
        if (!p)
            return;
        const execMs = performance.now() - p.sentAt;
        this.state = 'dead';
        p.resolveLogs(p.logLines.join('\n'));
        this.finish({ ok: false, error, errorKind: kind, execMs });
    }
    fail(reason) {
        this.emit('protocol-error', reason);
        this.kill();
    }
    onExit(info) {
        this.exitInfo = info;
        let oom = false;
        try {
            oom = this.proc.wasOomKilled?.() ?? false;
        }
        catch {
            // the cgroup is already gone: no OOM information
        }
        const how = info.signal ? `signal: ${info.signal === 'SIGKILL' ? 'killed' : info.signal}` : `exit status ${info.code}`;
        const kind = oom ? 'oom' : 'crash';
        const error = oom
            ? { errorType: 'Runtime.OutOfMemory', errorMessage: `Runtime exited with error: out of memory (limit ${this.fn.manifest.memoryMB} MB)` }
            : { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with error: ${how}` };
        if (this.readyWaiter) {
            const output = this.recentOutput.length > 0 ? `; last output: ${this.recentOutput.join(' | ').slice(-1000)}` : '';
            this.readyWaiter.reject(new InitError({ ...error, errorMessage: `${error.errorMessage} during init${output}` }, kind));
            this.readyWaiter = undefined;
        }
        if (this.pending)
            this.finishWithError(error, kind);
        this.state = 'dead';
        this.channel.destroy();
        void Promise.resolve()
            .then(() => this.proc.cleanup?.())
            .catch(() => undefined)
            .finally(() => {
            this.markGone(info);
            this.emit('exit', info);
        });
    }
    get exited() {
        return this.exitInfo !== undefined;
    }
    kill() {
        if (this.exitInfo)
            return;
        this.state = 'dead';
        try {
            this.proc.kill('SIGKILL');
        }
        catch {
            // already gone
        }
    }
    /** Proportional and unique set size of the instance's process, from /proc/<pid>/smaps_rollup. */
    memory() {
        return readSmapsRollup(this.proc.accountingPid ?? this.pid);
    }
}
export function readSmapsRollup(pid) {
    let text;
    try {
        text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    }
    catch {
        return undefined;
    }
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { pssKB: field('Pss'), ussKB: field('Private_Clean') + field('Private_Dirty'), rssKB: field('Rss') };
}
//# sourceMappingURL=instance.js.map