// A zygote: a trusted, pre-started runtime process that forks templates.
// The agent asks it for template[F]; the child loads F (init runs once) and
// from then on forks instances of F on request (docs/protocol.md).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import type { Runtime } from '../registry/manifest.js';
import type { FunctionVersion } from '../registry/store.js';
import { PDEATHSIG_PREFIX, runtimeCommand } from '../instances/cold-start.js';
import { instanceEnvironment } from '../instances/starter.js';
import { planToArgs, readEnterStatus, SANDBOX_CODE_DIR, type SandboxPlan } from '../sandbox/enter.js';
import { ControlChannel, type ControlMessage } from './control.js';
import type { FdPassing } from './fd-passing.js';
import { Template } from './template.js';

export interface ZygoteOptions {
  runtime: Runtime;
  nodeBinary: string;
  pythonBinary: string;
  runtimeDir: string;
  native: FdPassing;
  /** Extra environment for the zygote (e.g. HEARTH_PRELOAD, the addon path). */
  env?: Record<string, string>;
  log: Logger;
}

export class Zygote {
  private child: ChildProcess | undefined;
  private control: ControlChannel | undefined;
  private ready: Promise<void> | undefined;
  private stopping = false;
  /** Times the zygote was (re)started: a restart after it died is visible in tests and logs. */
  starts = 0;

  constructor(private readonly options: ZygoteOptions) {}

  get runtime(): Runtime {
    return this.options.runtime;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.control !== undefined && !this.control.isClosed;
  }

  /** Starts the zygote if it is not running (also after it died) and waits until it is ready. */
  ensureStarted(): Promise<void> {
    if (this.alive && this.ready) return this.ready;
    this.ready = this.start();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  private start(): Promise<void> {
    const { native, runtime } = this.options;
    const [agentEnd, zygoteEnd] = native.socketpair();
    // The zygote dies with hearth; its templates and their instances die with it in turn.
    const [binary, ...args] = [...PDEATHSIG_PREFIX, ...runtimeCommand(runtime, this.options, 'zygote')];
    this.starts += 1;
    const child = spawn(binary!, args, {
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', HEARTH_MODE: 'zygote', HEARTH_CHANNEL_FD: '3', ...this.options.env },
      stdio: ['ignore', 'inherit', 'inherit', zygoteEnd],
    });
    native.closeFds([zygoteEnd]);
    const control = new ControlChannel(agentEnd, native);
    this.child = child;
    this.control = control;
    child.once('exit', (code, signal) => {
      control.close(new Error(`zygote exited (${signal ?? code})`));
      if (!this.stopping) this.options.log.warn({ runtime, code, signal }, 'zygote exited; it is restarted on next use');
    });
    return new Promise((resolve, reject) => {
      const onMessage = (m: ControlMessage): void => {
        if (m.t !== 'zygote-ready') return;
        control.off('message', onMessage);
        resolve();
      };
      control.on('message', onMessage);
      control.once('close', (reason: Error) => reject(reason));
    });
  }

  /**
   * Forks template[fn]: a child of the zygote that loads fn and then serves fork requests.
   * With `sandbox`, the child first runs the enter-sandbox sequence with `sandbox.plan`
   * (template mode: its fds 3 = control, 4 = status) and stays its supervisor; the
   * sandboxed process loads fn, and each instance it forks enters with `sandbox.instanceArgs`.
   */
  async spawnTemplate(fn: FunctionVersion, sandbox?: { plan: SandboxPlan; instanceArgs: string[] }): Promise<Template> {
    await this.ensureStarted();
    const { native } = this.options;
    const [agentEnd, templateEnd] = native.socketpair();
    const [outAgent, outTemplate] = native.socketpair();
    const [errAgent, errTemplate] = native.socketpair();
    const status = sandbox ? native.socketpair() : undefined;
    const id = crypto.randomUUID();
    const taskRoot = sandbox ? SANDBOX_CODE_DIR : fn.codeDir;
    const spec = {
      handler: fn.manifest.handler,
      taskRoot,
      functionName: fn.name,
      functionVersion: String(fn.version),
      memoryMB: fn.manifest.memoryMB,
      timeoutS: fn.manifest.timeoutS,
      env: instanceEnvironment(fn, taskRoot),
    };
    const template = new Template(fn, new ControlChannel(agentEnd, native), new net.Socket({ fd: outAgent, readable: true, writable: false }), new net.Socket({ fd: errAgent, readable: true, writable: false }), native);
    const statusSocket = status ? new net.Socket({ fd: status[0], readable: true, writable: false }) : undefined;
    const entered = statusSocket ? readEnterStatus(statusSocket) : undefined;
    entered?.catch(() => undefined);
    try {
      const request = sandbox
        ? { t: 'template', id, spec, sandbox: { template: planToArgs({ ...sandbox.plan, keepFds: [0, 1, 2, 3], statusFd: 4 }), instance: sandbox.instanceArgs } }
        : { t: 'template', id, spec };
      const reply = await this.control!.request(request, [templateEnd, outTemplate, errTemplate, ...(status ? [status[1]] : [])], 10_000);
      template.pid = Number(reply.pid);
      // The zygote's child is the sandbox's supervisor; the template proper is the sandboxed process.
      if (entered) template.sandboxedPid = (await entered).pid;
    } catch (error) {
      template.destroy();
      statusSocket?.destroy();
      throw error;
    }
    return template;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    this.control?.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
  }
}
