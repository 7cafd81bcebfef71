// Native management routes: deploy, list, get, delete, logs.
import type { FastifyInstance } from 'fastify';
import type { Hearth } from '../../hearth.js';
import { HearthError } from '../../errors.js';
import type { NodeMemoryReport } from '../../memory/monitor.js';
import type { FunctionVersion } from '../../registry/registry.js';
import { DeployJsonBody, EmptyQuery, FunctionParams, LogsQuery, parseInput } from '../schemas.js';

export function describeVersion(v: FunctionVersion): Record<string, unknown> {
  return {
    name: v.name,
    version: v.version,
    runtime: v.manifest.runtime,
    handler: v.manifest.handler,
    memoryMB: v.manifest.memoryMB,
    timeoutS: v.manifest.timeoutS,
    concurrency: v.manifest.concurrency,
    network: v.manifest.network,
    codeSha256: v.codeSha256,
    codeBytes: v.codeBytes,
    createdAt: v.createdAt,
    manifest: v.manifest,
  };
}

function deployBody(contentType: string, body: Buffer): { zip: Buffer; manifest?: unknown } {
  if (contentType === 'application/zip' || contentType === 'application/octet-stream' || contentType === 'application/x-zip-compressed') {
    return { zip: body };
  }
  if (contentType === 'application/json') {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new HearthError('HEARTH_E_BAD_REQUEST', `request body is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = parseInput(DeployJsonBody, json, 'body');
    return { zip: Buffer.from(parsed.zipBase64, 'base64'), ...(parsed.manifest ? { manifest: parsed.manifest } : {}) };
  }
  throw new HearthError('HEARTH_E_BAD_REQUEST', `deploy expects Content-Type application/zip or application/json, not '${contentType || 'none'}'`);
}

/**
 * A function's memory: pssKB/ussKB = its instances (sum), templatePssKB/templateUssKB
 * = its resident template(s), totalPssKB = both. PSS divides shared pages among the
 * processes that map them, so instances forked from a template are cheap and the
 * template carries most of the shared cost.
 */
export function functionMemory(report: NodeMemoryReport, name: string): Record<string, number> {
  const f = report.functions[name];
  return {
    pssKB: f?.instances.pssKB ?? 0,
    ussKB: f?.instances.ussKB ?? 0,
    rssKB: f?.instances.rssKB ?? 0,
    swapKB: (f?.instances.swapKB ?? 0) + (f?.templates.swapKB ?? 0),
    templatePssKB: f?.templates.pssKB ?? 0,
    templateUssKB: f?.templates.ussKB ?? 0,
    templates: f?.templates.count ?? 0,
    totalPssKB: f?.pssKB ?? 0,
  };
}

export function functionRoutes(app: FastifyInstance, hearth: Hearth): void {
  // Node memory: totals of instances, templates, zygotes and the agent, the budget and what is charged against it.
  app.get('/v1/node', async (request) => {
    parseInput(EmptyQuery, request.query, 'query');
    const report = hearth.memoryReport();
    return {
      memory: report,
      instances: hearth.scheduler.stats().reduce((n, s) => n + s.instances.length, 0),
      swap: hearth.swap ? { path: hearth.swap.path, sizeKB: hearth.swap.sizeKB, owned: hearth.swap.owned } : null,
    };
  });

  app.post('/v1/functions', { bodyLimit: Math.ceil(hearth.config.maxUploadBytes * 1.4) + 64 * 1024 }, async (request, reply) => {
    parseInput(EmptyQuery, request.query, 'query');
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const body = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
    if (body.length === 0) throw new HearthError('HEARTH_E_BAD_REQUEST', 'deploy needs a body: a zip (Content-Type application/zip) or JSON {"zipBase64", "manifest"}');
    const { zip, manifest } = deployBody(contentType, body);
    if (zip.length > hearth.config.maxUploadBytes) {
      throw new HearthError('HEARTH_E_PACKAGE_TOO_LARGE', `package is ${zip.length} bytes; the limit is ${hearth.config.maxUploadBytes}`);
    }
    const version = await hearth.deploy(zip, manifest);
    return reply.code(201).send(describeVersion(version));
  });

  app.get('/v1/functions', async (request) => {
    parseInput(EmptyQuery, request.query, 'query');
    const stats = new Map(hearth.scheduler.stats().map((s) => [s.function, s]));
    const report = hearth.memoryReport();
    return {
      functions: hearth.registry.list().map((f) => {
        const s = stats.get(f.name);
        const { tier, template } = hearth.tierOf(f.name);
        return {
          ...describeVersion(f.latest),
          updatedAt: f.updatedAt,
          instances: { idle: s?.idle ?? 0, busy: s?.busy ?? 0, starting: s?.starting ?? 0, queued: s?.queued ?? 0 },
          memory: functionMemory(report, f.name),
          tier,
          diskBytes: template?.diskBytes ?? 0,
          startPaths: s?.startPaths ?? {},
        };
      }),
    };
  });

  app.get('/v1/functions/:name', async (request) => {
    const { name } = parseInput(FunctionParams, request.params, 'path');
    parseInput(EmptyQuery, request.query, 'query');
    const latest = hearth.registry.get(name);
    const [stats] = hearth.scheduler.stats(name);
    const report = hearth.memoryReport();
    const templates = report.templates.filter((t) => t.function === name).map(({ function: _f, ...t }) => t);
    return {
      ...describeVersion(latest),
      versions: hearth.registry.versions(name).map((v) => ({ version: v.version, codeSha256: v.codeSha256, createdAt: v.createdAt })),
      instances: stats,
      memory: { ...functionMemory(report, name), templates },
      // Which tier the function is in, its template's tier state (paged out or not, disk, working set), calls per start path.
      ...hearth.tierOf(name),
      startPaths: stats?.startPaths ?? {},
    };
  });

  app.delete('/v1/functions/:name', async (request, reply) => {
    const { name } = parseInput(FunctionParams, request.params, 'path');
    await hearth.remove(name);
    return reply.code(200).send({ deleted: name });
  });

  app.get('/v1/functions/:name/logs', async (request, reply) => {
    const { name } = parseInput(FunctionParams, request.params, 'path');
    const query = parseInput(LogsQuery, request.query, 'query');
    hearth.registry.get(name);
    const lines = await hearth.logs.tail(name, query.lines);
    if (!query.follow) {
      return reply.type('text/plain; charset=utf-8').send(lines.map((l) => `${l}\n`).join(''));
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    for (const line of lines) raw.write(`${line}\n`);
    const stop = hearth.logs.follow(name, (line) => raw.write(line));
    const keepalive = setInterval(() => raw.write(''), 15_000);
    request.raw.on('close', () => {
      stop();
      clearInterval(keepalive);
    });
  });
}
