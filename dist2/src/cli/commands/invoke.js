// hearth invoke <fn> [--data json|@file]
import fs from 'node:fs';
import { clientFor, info, out } from '../context.js';
import { CliError } from '../client.js';
export function registerInvoke(program) {
    program
        .command('invoke')
        .description('invoke a function and print its result; start path and timings go to stderr')
        .argument('<function>', 'function name')
        .option('-d, --data <json|@file>', 'the event: JSON text, or @file to read it from a file', '{}')
        .option('--logs', "also print the invocation's output")
        .action(async (name, options, command) => {
        let data = options.data;
        if (data.startsWith('@')) {
            try {
                data = fs.readFileSync(data.slice(1), 'utf8');
            }
            catch (error) {
                throw new CliError(`--data ${options.data}: ${error.message}`);
            }
        }
        try {
            JSON.parse(data);
        }
        catch (error) {
            throw new CliError(`--data is not valid JSON: ${error.message}`);
        }
        const body = await clientFor(command).json('POST', `/v1/functions/${encodeURIComponent(name)}/invoke`, { data, contentType: 'application/json' });
        const t = body.timings;
        const ms = (v) => `${(v ?? 0).toFixed(2)}ms`;
        info(`start path: ${body.startPath}  version: ${body.version}  request: ${body.requestId}`);
        info(`timings: queue ${ms(t.queueMs)}  sandbox ${ms(t.sandboxMs)}  process ${ms(t.processMs)}  init ${ms(t.initMs)}  exec ${ms(t.execMs)}  start ${ms(t.startMs)}  total ${ms(t.totalMs)}`);
        if (options.logs && body.logs)
            info(`--- output ---\n${body.logs}\n--------------`);
        if (body.ok) {
            out(JSON.stringify(body.result, null, 2));
            return;
        }
        out(JSON.stringify(body.error, null, 2));
        throw new CliError(`function error (${body.errorKind}): ${body.error?.errorType}: ${body.error?.errorMessage}`);
    });
}
//# sourceMappingURL=invoke.js.map