// template[F]: a process that loaded F once and forks instances of F on request.
// The agent holds its control channel; the template reports the exit status of
// every instance it forked (it is their parent).
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
const SIGNAL_NAMES = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };
/**
 * The host pid of the child of `parentPid` whose pid in the innermost-but-one pid
 * namespace is `nsPid`: a sandboxed template reports its instances' pids as it sees
 * them (inside the sandbox), the agent needs the host's view to signal and measure them.
 */
export function hostPidOfChild(parentPid, nsPid) {
    let children;
    try {
        children = fs.readFileSync(`/proc/${parentPid}/task/${parentPid}/children`, 'utf8');
    }
    catch {
        return undefined;
    }
    for (const candidate of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
        try {
            const nspid = /^NSpid:\s*(.*)$/m.exec(fs.readFileSync(`/proc/${candidate}/status`, 'utf8'))?.[1]?.trim().split(/\s+/).map(Number) ?? [];
            // host, sandbox, instance: the template's view is the second.
            if (nspid[1] === nsPid)
                return candidate;
        }
        catch {
            // exited meanwhile
        }
    }
    return undefined;
}
export class Template {
    fn;
    control;
    stdout;
    stderr;
    native;
    /** The zygote's child: the template itself, or, when sandboxed, the sandbox's supervisor (killing it ends the sandbox). */
    pid = -1;
    /** When sandboxed: the template process inside the sandbox (host pid), parent of the instances. */
    sandboxedPid;
    state = 'loading';
    initMs = 0;
    readyPromise;
    exitWaiters = new Map();
    exitReports = new Map();
    /** Instances forked and not yet reported dead. */
    children = new Set();
    constructor(fn, control, stdout, stderr, native) {
        this.fn = fn;
        this.control = control;
        this.stdout = stdout;
        this.stderr = stderr;
        this.native = native;
        this.readyPromise = new Promise((resolve, reject) => {
            const onMessage = (m) => {
                if (m.t === 'ready') {
                    this.state = 'ready';
                    this.initMs = Number(m.initMs);
                    resolve();
                }
                else if (m.t === 'init_error') {
                    this.state = 'failed';
                    reject(Object.assign(new Error(m.error.errorMessage), { lambdaError: m.error }));
                }
                else if (m.t === 'exit') {
                    this.onChildExit(Number(m.pid), { code: m.code ?? null, signal: m.signal ? (SIGNAL_NAMES[Number(m.signal)] ?? 'SIGKILL') : null });
                }
            };
            control.on('message', onMessage);
            control.once('close', (reason) => {
                if (this.state === 'loading')
                    reject(reason);
                this.state = this.state === 'failed' ? 'failed' : 'dead';
            });
        });
        this.readyPromise.catch(() => undefined);
    }
    onChildExit(pid, info) {
        this.children.delete(pid);
        const waiter = this.exitWaiters.get(pid);
        if (waiter) {
            this.exitWaiters.delete(pid);
            waiter(info);
        }
        else {
            this.exitReports.set(pid, info);
        }
    }
    /** `callback` runs once the template is gone (its control channel closed), at once if it already is. */
    onClose(callback) {
        if (this.control.isClosed)
            callback();
        else
            this.control.once('close', () => callback());
    }
    get alive() {
        return !this.control.isClosed && this.state === 'ready';
    }
    /** Forks one instance: it gets its own channel and output sockets; `cgroupFds` (cgroup.procs, opened for writing) move it into its leaf. */
    async fork(cgroupFds = []) {
        const [channelAgent, channelChild] = this.native.socketpair();
        const [outAgent, outChild] = this.native.socketpair();
        const [errAgent, errChild] = this.native.socketpair();
        const channel = new net.Socket({ fd: channelAgent, readable: true, writable: true });
        const stdout = new net.Socket({ fd: outAgent, readable: true, writable: false });
        const stderr = new net.Socket({ fd: errAgent, readable: true, writable: false });
        let reply;
        try {
            reply = await this.control.request({ t: 'fork', id: crypto.randomUUID() }, [channelChild, outChild, errChild, ...cgroupFds], 5000);
        }
        catch (error) {
            for (const s of [channel, stdout, stderr])
                s.destroy();
            throw error;
        }
        // A sandboxed template reports its own view of the pid; the agent works with the host's.
        const reportedPid = Number(reply.pid);
        const pid = this.sandboxedPid === undefined ? reportedPid : hostPidOfChild(this.sandboxedPid, reportedPid);
        if (pid === undefined) {
            for (const s of [channel, stdout, stderr])
                s.destroy();
            throw new Error(`forked instance ${reportedPid} of template ${this.sandboxedPid} has no host pid (it exited at once)`);
        }
        this.children.add(reportedPid);
        const exited = new Promise((resolve) => {
            const early = this.exitReports.get(reportedPid);
            if (early) {
                this.exitReports.delete(reportedPid);
                resolve(early);
                return;
            }
            this.exitWaiters.set(reportedPid, resolve);
            // Without a report (the template died, or the instance closed its channel), the
            // channel's end is the end of the instance: make sure of it, then resolve.
            channel.once('close', () => {
                setTimeout(() => {
                    if (!this.exitWaiters.delete(reportedPid))
                        return;
                    try {
                        process.kill(pid, 'SIGKILL');
                    }
                    catch {
                        // already gone
                    }
                    resolve({ code: null, signal: 'SIGKILL' });
                }, 300).unref();
            });
        });
        return { pid, channel, stdout, stderr, exited };
    }
    /** Kills the template (its instances live on until the agent stops them). */
    destroy() {
        if (this.pid > 0 && !this.control.isClosed) {
            try {
                process.kill(this.pid, 'SIGKILL');
            }
            catch {
                // already gone
            }
        }
        this.control.close();
        this.stdout.destroy();
        this.stderr.destroy();
    }
}
//# sourceMappingURL=template.js.map