// The agent's own structured logs (pino). Function output is stored separately (instances/function-logs.ts).
import pino from 'pino';
export function createLogger(options = {}) {
    const level = options.level ?? process.env.HEARTH_LOG_LEVEL ?? 'info';
    if (options.pretty) {
        return pino({ level, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
    }
    return pino({ level });
}
/** A logger that writes nothing, for tests and embedded use. */
export function silentLogger() {
    return pino({ level: 'silent' });
}
//# sourceMappingURL=log.js.map