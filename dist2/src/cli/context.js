import { HearthClient } from './client.js';
export function clientFor(command) {
    const options = command.optsWithGlobals();
    return new HearthClient({ url: options.url, ...(options.token ? { token: options.token } : {}) });
}
/** Writes a line to stdout (results) — progress and timings go to stderr. */
export function out(text) {
    process.stdout.write(`${text}\n`);
}
export function info(text) {
    process.stderr.write(`${text}\n`);
}
//# sourceMappingURL=context.js.map