// The function manifest (hearth.json): one schema gives validation, types and error messages.
import { z } from 'zod';
import { HearthError } from '../errors.js';
export const RUNTIMES = ['nodejs20', 'python3.11'];
export const MANIFEST_FILE = 'hearth.json';
/** Variables the platform sets; a manifest may not override them. */
const RESERVED_ENV = /^(HEARTH_|AWS_LAMBDA_|LAMBDA_|_HANDLER$|_X_AMZN|AWS_REGION$|AWS_EXECUTION_ENV$|NODE_OPTIONS$|PYTHONPATH$|PYTHONHOME$|LD_|PATH$)/;
export const FunctionNameSchema = z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 characters: letters, digits, - and _, starting with a letter or digit');
export const ManifestSchema = z
    .object({
    name: FunctionNameSchema,
    runtime: z.enum(RUNTIMES, { errorMap: () => ({ message: `must be one of ${RUNTIMES.join(', ')}` }) }),
    handler: z
        .string()
        .max(128)
        .regex(/^[A-Za-z0-9_][A-Za-z0-9_./-]*\.[A-Za-z_$][A-Za-z0-9_$]*$/, "must look like 'file.export' (e.g. index.handler or src/app.handler)")
        .refine((h) => !h.split('/').includes('..') && !h.startsWith('/'), 'must not leave the package'),
    memoryMB: z.number().int().min(64).max(10240).default(128),
    timeoutS: z.number().int().min(1).max(900).default(30),
    concurrency: z.number().int().min(1).max(1000).default(10),
    env: z
        .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names must match [A-Za-z_][A-Za-z0-9_]*').refine((k) => !RESERVED_ENV.test(k), 'is reserved by the platform'), z.string().max(4096))
        .default({})
        .refine((env) => Buffer.byteLength(JSON.stringify(env)) <= 4096, 'environment variables may total at most 4 KB'),
    network: z.enum(['none', 'egress']).default('none'),
    description: z.string().max(256).optional(),
})
    .strict();
/** Validates a manifest object; errors name the field and the source (file or request). */
export function parseManifest(input, source) {
    const result = ManifestSchema.safeParse(input);
    if (result.success)
        return result.data;
    const issue = result.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw new HearthError('HEARTH_E_MANIFEST_INVALID', `${source}: field '${field}' ${issue.message}`, { file: source, field, issues: result.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })) });
}
/** Candidate files that may hold the handler's module, in lookup order. */
export function handlerModuleCandidates(manifest) {
    const dot = manifest.handler.lastIndexOf('.');
    const modulePath = manifest.handler.slice(0, dot);
    if (manifest.runtime === 'python3.11') {
        const asPath = modulePath.includes('/') ? modulePath : modulePath.replaceAll('.', '/');
        return [`${asPath}.py`, `${asPath}/__init__.py`];
    }
    return ['.js', '.mjs', '.cjs'].map((ext) => `${modulePath}${ext}`);
}
//# sourceMappingURL=manifest.js.map