// A starter creates a ready instance of a function by one start path.
// The scheduler asks each registered starter, fastest path first, whether it can
// start the function now (scheduler/start-path.ts); the first that can, does.
import type { FunctionVersion } from '../registry/store.js';
import type { Instance, StartPath } from './instance.js';

export interface StartTimings {
  /** Acquiring and entering the sandbox (shell from the pool, namespaces, cgroup, mounts). */
  sandboxMs: number;
  /** Creating the runtime process (spawn/fork) until the bootstrap runs. */
  processMs: number;
  /** Loading the handler and running the function's module-level init. */
  initMs: number;
}

export interface StartedInstance {
  instance: Instance;
  timings: StartTimings;
  /** The path that really started it, when a starter fell back to another (e.g. a restore whose image failed its check starts cold). */
  path?: Exclude<StartPath, 'warm'>;
}

export interface InstanceStarter {
  readonly path: Exclude<StartPath, 'warm'>;
  /** Whether this path can start `fn` right now (e.g. a template is resident). */
  canStart(fn: FunctionVersion): boolean;
  /** Starts an instance and resolves once it is ready; rejects with InitError when the function fails to load. */
  start(fn: FunctionVersion): Promise<StartedInstance>;
  close?(): Promise<void>;
}

/** The environment every instance gets (docs/protocol.md), the manifest's own variables first. */
export function instanceEnvironment(fn: FunctionVersion, taskRoot: string, extra: Record<string, string> = {}): Record<string, string> {
  const m = fn.manifest;
  return {
    ...m.env,
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    HOME: '/tmp',
    HEARTH_CHANNEL_FD: '3',
    HEARTH_HANDLER: m.handler,
    HEARTH_TASK_ROOT: taskRoot,
    HEARTH_FUNCTION_NAME: fn.name,
    HEARTH_FUNCTION_VERSION: String(fn.version),
    HEARTH_MEMORY_MB: String(m.memoryMB),
    HEARTH_TIMEOUT_S: String(m.timeoutS),
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: String(fn.version),
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(m.memoryMB),
    LAMBDA_TASK_ROOT: taskRoot,
    _HANDLER: m.handler,
    AWS_REGION: 'local',
    ...extra,
  };
}
