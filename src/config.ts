// hearth's configuration: defaults, environment, command-line overrides, one schema.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { HearthError } from './errors.js';

/** The repository root (compiled code lives in dist/src/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

export const LambdaCredentialSchema = z
  .object({
    accessKeyId: z.string().regex(/^[A-Za-z0-9]{16,128}$/, 'access key id must be 16-128 letters and digits'),
    secretAccessKey: z.string().regex(/^[\x21-\x2b\x2d-\x7e]{16,128}$/, 'secret access key must be 16-128 printable ASCII characters without spaces or commas'),
  })
  .strict();

export type LambdaCredential = z.infer<typeof LambdaCredentialSchema>;

export const ConfigSchema = z
  .object({
    dataDir: z.string().min(1),
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    /** Bearer token for the API; required when listening on a non-loopback address. */
    token: z.string().min(16).optional(),
    /** Instances (all functions) that may exist at once. */
    maxInstances: z.number().int().min(1).max(100_000),
    /** Node-wide memory budget in MB for instances (reserved by their manifest memory). */
    memoryBudgetMB: z.number().int().min(64),
    /** How instances are charged against the budget: 'reserved' = max(measured PSS, manifest memory), 'measured' = PSS only (overcommit). Templates and zygotes count with their PSS. */
    memoryAccounting: z.enum(['reserved', 'measured']),
    /** How often the PSS of instances, templates and zygotes is sampled for the budget (0 = only on demand). */
    memorySampleMs: z.number().int().min(0),
    /** Swap for paged-out templates: 'path,sizeMB' creates a swap file (removed at shutdown); unset = use active swap if any. */
    swapFile: z.string().optional(),
    /** Page idle templates out to images under memory pressure and restore them on their next call (needs swap; without it templates are dropped). */
    imageTier: z.boolean(),
    /** Templates unused this long are paged out to images even without pressure (0: only under pressure). */
    templateIdleMs: z.number().int().min(0),
    /** Disk the images may hold (their swap plus records), in MB; 0 = up to 90% of the swap hearth uses. */
    imageDiskBudgetMB: z.number().int().min(0),
    /** How long an idle instance is kept warm. */
    keepAliveMs: z.number().int().min(0),
    /** Invocations waiting per function before 429. */
    queueLength: z.number().int().min(0).max(100_000),
    /** Largest accepted package upload (compressed) and invocation payload. */
    maxUploadBytes: z.number().int().min(1024),
    maxPayloadBytes: z.number().int().min(1024),
    /** Caps for unpacked packages (zip-bomb protection). */
    maxUnpackedBytes: z.number().int().min(1024),
    maxPackageFiles: z.number().int().min(1),
    /** Versions kept per function (older ones are pruned). */
    keepVersions: z.number().int().min(1).max(1000),
    nodeBinary: z.string().min(1),
    pythonBinary: z.string().min(1),
    runtimeDir: z.string().min(1),
    /** Use the fork and repurpose start paths (zygotes and templates) where the runtime supports them. */
    forkPaths: z.boolean(),
    /** Instances each template forks ahead of demand (0: fork only when a call needs one). */
    forkSpares: z.number().int().min(0).max(16),
    /** Modules the Python zygote imports at start (trusted, shared by every template): e.g. numpy. */
    pythonPreload: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'must be a Python module name')),
    /** Start cold instances inside sandboxes (namespaces, seccomp, no host paths). Opt-in until every path has it. */
    sandbox: z.boolean(),
    /** Access key pairs accepted by the Lambda-compatible API (SigV4); none = that API refuses every request. */
    lambdaCredentials: z.array(LambdaCredentialSchema).max(100),
    /** Delays before the retries of a failed async (Event) invocation; Lambda's default is two retries after 1 and 2 minutes. */
    lambdaAsyncRetryDelaysMs: z.array(z.number().int().min(0).max(6 * 60 * 60 * 1000)).max(2),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (!LOOPBACK_HOSTS.has(config.host) && !config.token) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['token'], message: `listening on ${config.host} (not loopback) requires a token (--token or HEARTH_TOKEN, at least 16 characters)` });
    }
    const keyIds = config.lambdaCredentials.map((c) => c.accessKeyId);
    const duplicate = keyIds.find((id, i) => keyIds.indexOf(id) !== i);
    if (duplicate) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['lambdaCredentials'], message: `access key id ${duplicate} is configured twice` });
  });

export type HearthConfig = z.infer<typeof ConfigSchema>;

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new HearthError('HEARTH_E_BAD_REQUEST', `${name} must be an integer, got '${raw}'`);
  return value;
}

/**
 * Parses Lambda API credentials: `ACCESS_KEY_ID:SECRET` pairs separated by commas
 * or newlines (blank lines and `#` comments ignored).
 */
export function parseLambdaCredentials(text: string, source: string): LambdaCredential[] {
  const entries = text
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  return entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new HearthError('HEARTH_E_BAD_REQUEST', `${source}: entry ${i + 1} is not ACCESS_KEY_ID:SECRET`);
    const parsed = LambdaCredentialSchema.safeParse({ accessKeyId: entry.slice(0, colon), secretAccessKey: entry.slice(colon + 1) });
    if (!parsed.success) throw new HearthError('HEARTH_E_BAD_REQUEST', `${source}: entry ${i + 1}: ${parsed.error.issues[0]!.message}`);
    return parsed.data;
  });
}

function envLambdaCredentials(): LambdaCredential[] {
  const inline = process.env.HEARTH_LAMBDA_CREDENTIALS;
  const file = process.env.HEARTH_LAMBDA_CREDENTIALS_FILE;
  const result: LambdaCredential[] = [];
  if (inline) result.push(...parseLambdaCredentials(inline, 'HEARTH_LAMBDA_CREDENTIALS'));
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new HearthError('HEARTH_E_BAD_REQUEST', `HEARTH_LAMBDA_CREDENTIALS_FILE: cannot read ${file}: ${(error as Error).message}`);
    }
    result.push(...parseLambdaCredentials(text, file));
  }
  return result;
}

function envIntList(name: string): number[] | undefined {
  const raw = process.env[name];
  if (raw === undefined) return undefined;
  if (raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isInteger(value)) throw new HearthError('HEARTH_E_BAD_REQUEST', `${name} must be comma-separated integers, got '${raw}'`);
    return value;
  });
}

export function defaultConfig(): HearthConfig {
  const totalMB = Math.floor(os.totalmem() / 1024 / 1024);
  return {
    dataDir: process.env.HEARTH_DATA ?? path.join(os.homedir(), '.hearth'),
    host: process.env.HEARTH_HOST ?? '127.0.0.1',
    port: envInt('HEARTH_PORT') ?? 9080,
    ...(process.env.HEARTH_TOKEN ? { token: process.env.HEARTH_TOKEN } : {}),
    maxInstances: envInt('HEARTH_MAX_INSTANCES') ?? 256,
    memoryBudgetMB: envInt('HEARTH_MEMORY_BUDGET_MB') ?? Math.max(512, Math.floor(totalMB / 2)),
    memoryAccounting: (process.env.HEARTH_MEMORY_ACCOUNTING ?? 'reserved') as 'reserved' | 'measured',
    memorySampleMs: envInt('HEARTH_MEMORY_SAMPLE_MS') ?? 5000,
    ...(process.env.HEARTH_SWAP_FILE ? { swapFile: process.env.HEARTH_SWAP_FILE } : {}),
    imageTier: process.env.HEARTH_IMAGE_TIER !== '0',
    templateIdleMs: envInt('HEARTH_TEMPLATE_IDLE_MS') ?? 10 * 60 * 1000,
    imageDiskBudgetMB: envInt('HEARTH_IMAGE_DISK_BUDGET_MB') ?? 0,
    keepAliveMs: envInt('HEARTH_KEEP_ALIVE_MS') ?? 10 * 60 * 1000,
    queueLength: envInt('HEARTH_QUEUE_LENGTH') ?? 100,
    maxUploadBytes: 50 * 1024 * 1024,
    maxPayloadBytes: 6 * 1024 * 1024,
    maxUnpackedBytes: 250 * 1024 * 1024,
    maxPackageFiles: 20_000,
    keepVersions: 5,
    nodeBinary: process.env.HEARTH_NODE ?? process.execPath,
    pythonBinary: process.env.HEARTH_PYTHON ?? '/usr/bin/python3',
    runtimeDir: path.join(REPO_ROOT, 'runtimes'),
    forkPaths: process.env.HEARTH_FORK !== '0',
    forkSpares: envInt('HEARTH_FORK_SPARES') ?? 1,
    pythonPreload: (process.env.HEARTH_PYTHON_PRELOAD ?? '').split(',').map((m) => m.trim()).filter(Boolean),
    sandbox: process.env.HEARTH_SANDBOX !== undefined ? process.env.HEARTH_SANDBOX === '1' : process.getuid?.() === 0,
    lambdaCredentials: envLambdaCredentials(),
    lambdaAsyncRetryDelaysMs: envIntList('HEARTH_LAMBDA_ASYNC_RETRY_DELAYS_MS') ?? [60_000, 120_000],
  };
}

/** Merges overrides onto the defaults and validates the result. */
export function loadConfig(overrides: Partial<HearthConfig> = {}): HearthConfig {
  const merged = { ...defaultConfig(), ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HearthError('HEARTH_E_BAD_REQUEST', `invalid configuration: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
