/** The environment every instance gets (docs/protocol.md), the manifest's own variables first. */
export function instanceEnvironment(fn, taskRoot, extra = {}) {
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
//# sourceMappingURL=starter.js.map