import { clientFor, out } from '../context.js';
export function formatTable(rows) {
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}
export function registerLs(program) {
    program
        .command('ls')
        .description('list functions with their instances and memory (PSS/USS)')
        .option('--json', 'print JSON')
        .action(async (options, command) => {
        const body = await clientFor(command).json('GET', '/v1/functions');
        if (options.json)
            return out(JSON.stringify(body, null, 2));
        if (body.functions.length === 0)
            return out('no functions deployed');
        const mb = (kb) => `${(kb / 1024).toFixed(1)}MB`;
        out(formatTable([
            ['NAME', 'VERSION', 'RUNTIME', 'HANDLER', 'MEMORY', 'IDLE', 'BUSY', 'QUEUED', 'PSS', 'USS'],
            ...body.functions.map((f) => [f.name, String(f.version), f.runtime, f.handler, `${f.memoryMB}MB`, String(f.instances.idle), String(f.instances.busy), String(f.instances.queued), mb(f.memory.pssKB), mb(f.memory.ussKB)]),
        ]));
    });
}
//# sourceMappingURL=ls.js.map