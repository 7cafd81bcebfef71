// The hearth command line.
import { Command, CommanderError } from 'commander';
import { registerDeploy } from './commands/deploy.js';
import { registerInvoke } from './commands/invoke.js';
import { registerLogs } from './commands/logs.js';
import { registerLs } from './commands/ls.js';
import { registerRm } from './commands/rm.js';
import { registerUp } from './commands/up.js';
const program = new Command();
program
    .name('hearth')
    .description('hearth: serverless functions with millisecond starts')
    .option('--url <url>', 'hearth API address', process.env.HEARTH_URL ?? 'http://127.0.0.1:9080')
    .option('--token <token>', 'API bearer token (or HEARTH_TOKEN)', process.env.HEARTH_TOKEN)
    .option('--debug', 'show stack traces and debug logs')
    .showHelpAfterError()
    .exitOverride();
registerUp(program);
registerDeploy(program);
registerInvoke(program);
registerLs(program);
registerRm(program);
registerLogs(program);
try {
    await program.parseAsync(process.argv);
}
catch (error) {
    if (error instanceof CommanderError)
        process.exit(error.exitCode);
    const debug = program.opts().debug;
    process.stderr.write(`error: ${debug ? (error.stack ?? String(error)) : error.message}\n`);
    process.exit(1);
}
//# sourceMappingURL=index.js.map