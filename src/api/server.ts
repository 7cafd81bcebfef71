// The HTTP API (fastify): parsers, auth, error mapping, and the route tables.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Hearth } from '../hearth.js';
import { HearthError, isHearthError } from '../errors.js';
import { checkBearer } from './auth.js';
import { functionRoutes } from './routes/functions.js';
import { invokeRoutes } from './routes/invoke.js';
import { isLambdaApiPath, lambdaRoutes } from './routes/lambda.js';

export function buildServer(hearth: Hearth): FastifyInstance {
  const app = Fastify({
    loggerInstance: hearth.log.child({ component: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: Math.ceil(hearth.config.maxUploadBytes * 1.4) + 64 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  });

  // Every body arrives as raw bytes; each route decides how to read it (events are passed through untouched).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // The Lambda-compatible API authenticates with SigV4 instead (routes/lambda.ts).
  app.addHook('onRequest', async (request) => {
    if (!isLambdaApiPath(request.url)) checkBearer(request, hearth.config.token);
  });

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    let hearthError: HearthError;
    if (isHearthError(error)) hearthError = error;
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const isDeploy = request.method === 'POST' && request.routeOptions.url === '/v1/functions';
      hearthError = new HearthError(
        isDeploy ? 'HEARTH_E_PACKAGE_TOO_LARGE' : 'HEARTH_E_PAYLOAD_TOO_LARGE',
        `request body exceeds the limit of ${request.routeOptions.bodyLimit ?? 'the server'} bytes for ${request.method} ${request.routeOptions.url ?? request.url}`,
      );
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      hearthError = new HearthError('HEARTH_E_BAD_REQUEST', error.message);
    } else {
      request.log.error({ err: error }, 'internal error');
      hearthError = new HearthError('HEARTH_E_INTERNAL', 'internal error; see the hearth log');
    }
    if (hearthError.fault === 'system') request.log.warn({ code: hearthError.code }, hearthError.message);
    return reply.code(hearthError.status).type('application/json').send(hearthError.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new HearthError('HEARTH_E_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`);
    return reply.code(404).send(error.toJSON());
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    updateMemoryMetrics(hearth);
    return reply.type(hearth.metrics.registry.contentType).send(await hearth.metrics.registry.metrics());
  });

  functionRoutes(app, hearth);
  invokeRoutes(app, hearth);
  lambdaRoutes(app, hearth);
  return app;
}

/** Samples memory and sets the gauges (per function and kind, node totals, zygotes); functions that are gone drop out. */
function updateMemoryMetrics(hearth: Hearth): void {
  const report = hearth.memoryReport();
  const m = hearth.metrics;
  m.functionPssBytes.reset();
  m.functionUssBytes.reset();
  m.zygotePssBytes.reset();
  for (const [name, f] of Object.entries(report.functions)) {
    m.functionPssBytes.set({ function: name, kind: 'instance' }, f.instances.pssKB * 1024);
    m.functionPssBytes.set({ function: name, kind: 'template' }, f.templates.pssKB * 1024);
    m.functionUssBytes.set({ function: name, kind: 'instance' }, f.instances.ussKB * 1024);
    m.functionUssBytes.set({ function: name, kind: 'template' }, f.templates.ussKB * 1024);
  }
  for (const kind of ['instances', 'templates', 'zygotes', 'agent'] as const) m.nodePssBytes.set({ kind }, report.totals[kind].pssKB * 1024);
  for (const z of report.zygotes) m.zygotePssBytes.set({ runtime: z.runtime }, z.pssKB * 1024);
  m.memoryUsedBytes.set(Math.round((report.usedMB ?? 0) * 1024 * 1024));
  m.functionTier.reset();
  for (const f of hearth.registry.list()) {
    const { tier } = hearth.tierOf(f.name);
    for (const t of ['instances', 'template', 'image', 'none'] as const) m.functionTier.set({ function: f.name, tier: t }, t === tier ? 1 : 0);
  }
  m.imageDiskBytes.set(hearth.templates?.tier?.diskBytes() ?? 0);
  m.memorySampleSeconds.set(report.sampleMs / 1000);
}
