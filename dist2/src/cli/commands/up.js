// hearth up: run the server in the foreground.
import fs from 'node:fs';
import path from 'node:path';
import { startHearth } from '../../main.js';
import { createLogger } from '../../log.js';
import { zipDirectory } from '../zip-dir.js';
export function registerUp(program) {
    program
        .command('up')
        .description('run hearth in the foreground (Ctrl-C stops it and every instance)')
        .option('--host <host>', 'address to listen on (non-loopback requires --token)', process.env.HEARTH_HOST ?? '127.0.0.1')
        .option('--port <port>', 'port to listen on', process.env.HEARTH_PORT ?? '9080')
        .option('--data <dir>', 'data directory (default $HEARTH_DATA or ~/.hearth)')
        .option('--deploy <dir...>', 'deploy these function directories at start')
        .option('--json-logs', 'write logs as JSON lines instead of pretty text')
        .action(async (options, command) => {
        const globals = command.optsWithGlobals();
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
            throw new Error(`--port must be a port number, got '${options.port}'`);
        const log = createLogger({ pretty: !options.jsonLogs, ...(globals.debug ? { level: 'debug' } : {}) });
        const running = await startHearth({ host: options.host, port, ...(options.data ? { dataDir: path.resolve(options.data) } : {}), ...(globals.token ? { token: globals.token } : {}) }, log);
        for (const dir of options.deploy ?? []) {
            if (!fs.existsSync(path.join(dir, 'hearth.json')))
                throw new Error(`--deploy ${dir}: no hearth.json in that directory`);
            const version = await running.hearth.deploy(await zipDirectory(dir));
            log.info({ function: version.name, version: version.version, try: `curl -s -X POST ${running.url}/function/${version.name} -d '{}'` }, 'example deployed');
        }
        let stopping = false;
        const stop = (signal) => {
            if (stopping)
                return;
            stopping = true;
            log.info({ signal }, 'stopping');
            running.stop().then(() => process.exit(0), (error) => {
                log.error({ err: error }, 'error while stopping');
                process.exit(1);
            });
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
//# sourceMappingURL=up.js.map