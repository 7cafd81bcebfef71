import { clientFor } from '../context.js';
export function registerLogs(program) {
    program
        .command('logs')
        .description("print a function's output (stdout/stderr of its instances and platform lines)")
        .argument('<function>', 'function name')
        .option('-f, --follow', 'keep printing new lines')
        .option('-n, --lines <n>', 'how many recent lines', '100')
        .action(async (name, options, command) => {
        const query = new URLSearchParams({ lines: options.lines, follow: options.follow ? 'true' : 'false' });
        const response = await clientFor(command).request('GET', `/v1/functions/${encodeURIComponent(name)}/logs?${query}`);
        if (!response.body)
            return;
        for await (const chunk of response.body)
            process.stdout.write(chunk);
    });
}
//# sourceMappingURL=logs.js.map