// Request schemas of the native API (zod): one place for validation and types.
import { z } from 'zod';
import { HearthError } from '../errors.js';
import { FunctionNameSchema } from '../registry/manifest.js';
export const FunctionParams = z.object({ name: FunctionNameSchema }).strict();
export const DeployJsonBody = z
    .object({
    zipBase64: z.string().min(1, 'must not be empty').regex(/^[A-Za-z0-9+/=\s]+$/, 'must be base64'),
    manifest: z.record(z.unknown()).optional(),
})
    .strict();
export const LogsQuery = z
    .object({
    lines: z.coerce.number().int().min(1).max(10_000).default(100),
    follow: z
        .enum(['true', 'false', '1', '0'])
        .default('false')
        .transform((v) => v === 'true' || v === '1'),
})
    .strict();
export const EmptyQuery = z.object({}).strict();
/** Parses `data` with `schema`; a failure becomes a 400 naming the field. */
export function parseInput(schema, data, where) {
    const result = schema.safeParse(data ?? {});
    if (result.success)
        return result.data;
    const issue = result.error.issues[0];
    const field = issue.path.join('.') || '(root)';
    throw new HearthError('HEARTH_E_BAD_REQUEST', `${where}: '${field}' ${issue.message}`, { field, where });
}
//# sourceMappingURL=schemas.js.map