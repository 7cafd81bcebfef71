import { clientFor, out } from '../context.js';
export function registerRm(program) {
    program
        .command('rm')
        .description('delete a function, its versions, instances and logs')
        .argument('<function...>', 'function names')
        .action(async (names, _options, command) => {
        for (const name of names) {
            await clientFor(command).json('DELETE', `/v1/functions/${encodeURIComponent(name)}`);
            out(`deleted ${name}`);
        }
    });
}
//# sourceMappingURL=rm.js.map