import { buildServer } from './api/server.js';
import { loadConfig } from './config.js';
import { Hearth } from './hearth.js';
import { createLogger } from './log.js';
export async function startHearth(overrides = {}, log = createLogger(), startersFor) {
    const config = loadConfig(overrides);
    const hearth = new Hearth(config, log, startersFor);
    const server = buildServer(hearth);
    try {
        await hearth.init();
        await hearth.warmUp();
        await server.listen({ host: config.host, port: config.port });
    }
    catch (error) {
        await hearth.close();
        throw error;
    }
    const address = server.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    log.info({ url, dataDir: config.dataDir, functions: hearth.registry.list().length }, 'hearth is up');
    let stopping;
    return {
        hearth,
        server,
        url,
        stop: () => {
            stopping ??= (async () => {
                await server.close();
                await hearth.close();
            })();
            return stopping;
        },
    };
}
//# sourceMappingURL=main.js.map