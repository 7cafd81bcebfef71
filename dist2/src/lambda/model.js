// The Lambda API's request schemas (zod, with Lambda's field names and limits) and
// the mapping between Lambda's shapes and hearth's manifest and versions.
import crypto from 'node:crypto';
import os from 'node:os';
import { z } from 'zod';
import { FunctionNameSchema } from '../registry/manifest.js';
import { LambdaApiError } from './errors.js';
export const ACCOUNT_ID = '000000000000';
export const LATEST = '$LATEST';
export const DEFAULT_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/hearth-default`;
/** Lambda's default timeout for a function created without one (hearth's own manifest default is 30 s). */
export const LAMBDA_DEFAULT_TIMEOUT_S = 3;
/** Lambda's limit for the payload of an asynchronous (Event) invocation. */
export const ASYNC_PAYLOAD_LIMIT = 256 * 1024;
const RUNTIME_TO_HEARTH = { 'nodejs20.x': 'nodejs20', 'python3.11': 'python3.11' };
const RUNTIME_TO_LAMBDA = { nodejs20: 'nodejs20.x', 'python3.11': 'python3.11' };
export const HOST_ARCHITECTURE = os.arch() === 'arm64' ? 'arm64' : 'x86_64';
export function functionArn(region, name, qualifier) {
    return `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
}
/** Turns the first zod issue into Lambda's InvalidParameterValueException naming the field. */
export function parseLambdaInput(schema, data, where) {
    const result = schema.safeParse(data);
    if (result.success)
        return result.data;
    const issue = result.error.issues[0];
    const field = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
        throw new LambdaApiError('InvalidParameterValueException', `${where}${field ? ` ${field}` : ''}: ${issue.keys.map((k) => `'${k}'`).join(', ')} ${issue.keys.length === 1 ? 'is' : 'are'} not supported by hearth's Lambda API (see docs/lambda-api.md)`);
    }
    throw new LambdaApiError('InvalidParameterValueException', `${where}: ${field ? `'${field}' ` : ''}${issue.message}`);
}
// ---- function references (name, name:qualifier, partial ARN, ARN) ----
const QualifierSchema = z.string().regex(/^(\$LATEST|[A-Za-z0-9_-]{1,128})$/, "must be '$LATEST', a version number or an alias name");
/** Parses a FunctionName as Lambda accepts it: `name`, `name:qualifier`, `123456789012:function:name[:qualifier]` or a full ARN. */
export function parseFunctionRef(raw) {
    const arn = /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:(.+)$/.exec(raw) ?? /^\d{12}:function:(.+)$/.exec(raw);
    const rest = arn ? arn[1] : raw;
    const parts = rest.split(':');
    if (parts.length > 2)
        throw new LambdaApiError('InvalidParameterValueException', `FunctionName '${raw.slice(0, 200)}' is not a function name, name:qualifier or function ARN`);
    const name = FunctionNameSchema.safeParse(parts[0]);
    if (!name.success)
        throw new LambdaApiError('InvalidParameterValueException', `FunctionName '${raw.slice(0, 200)}': the name ${name.error.issues[0].message}`);
    let qualifier;
    if (parts.length === 2) {
        const q = QualifierSchema.safeParse(parts[1]);
        if (!q.success)
            throw new LambdaApiError('InvalidParameterValueException', `FunctionName '${raw.slice(0, 200)}': the qualifier ${q.error.issues[0].message}`);
        qualifier = q.data;
    }
    return { name: name.data, qualifier };
}
/** hearth serves the latest code only ($LATEST); any other qualifier names a version or alias that does not exist. */
export function requireLatest(ref, queryQualifier, region) {
    if (queryQualifier !== undefined && ref.qualifier !== undefined && queryQualifier !== ref.qualifier) {
        throw new LambdaApiError('InvalidParameterValueException', `The derived qualifier from the function name does not match the specified qualifier ('${ref.qualifier}' vs '${queryQualifier}').`);
    }
    const qualifier = queryQualifier ?? ref.qualifier;
    if (qualifier !== undefined && qualifier !== LATEST) {
        throw new LambdaApiError('ResourceNotFoundException', `Function not found: ${functionArn(region, ref.name, qualifier)} (hearth has no published versions or aliases; use $LATEST)`);
    }
}
export const FunctionPathParams = z.object({ FunctionName: z.string().min(1).max(256) }).strict();
export const EmptyQuery = z.object({}).strict();
export const QualifierQuery = z.object({ Qualifier: QualifierSchema.optional() }).strict();
// ---- request bodies ----
const Base64 = z
    .string()
    .min(1, 'must not be empty')
    .refine((s) => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s), 'must be base64 (the zip file)');
const RoleSchema = z.string().regex(/^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/, "must be an IAM role ARN such as 'arn:aws:iam::123456789012:role/my-role' (hearth stores it but does not use it)");
const RuntimeSchema = z.string().superRefine((value, ctx) => {
    if (!(value in RUNTIME_TO_HEARTH)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `'${value.slice(0, 64)}' is not supported by hearth; supported runtimes: ${Object.keys(RUNTIME_TO_HEARTH).join(', ')}` });
    }
});
const HandlerSchema = z.string().min(1).max(128).regex(/^[^\s]+$/, 'must not contain white space');
const EnvironmentSchema = z
    .object({
    Variables: z.record(z.string().regex(/^[a-zA-Z]([a-zA-Z0-9_])*$/, 'environment variable names must start with a letter and contain only letters, digits and _'), z.string()).optional(),
})
    .strict();
const TagsSchema = z.record(z.string().min(1).max(128), z.string().max(256)).refine((tags) => Object.keys(tags).length <= 50, 'at most 50 tags');
const TracingConfigSchema = z.object({ Mode: z.literal('PassThrough', { errorMap: () => ({ message: "only 'PassThrough' is supported by hearth (no X-Ray)" }) }) }).strict();
const ArchitecturesSchema = z
    .array(z.string())
    .length(1, 'must name exactly one architecture')
    .refine((a) => a[0] === HOST_ARCHITECTURE, `this hearth runs functions on ${HOST_ARCHITECTURE} only`);
export const CreateFunctionBody = z
    .object({
    FunctionName: z.string().min(1).max(256),
    Runtime: RuntimeSchema,
    Role: RoleSchema,
    Handler: HandlerSchema,
    Code: z
        .object({ ZipFile: Base64.optional() })
        .strict()
        .refine((c) => c.ZipFile !== undefined, 'ZipFile is required (hearth accepts only direct zip uploads, not S3 objects or container images)'),
    Description: z.string().max(256).optional(),
    Timeout: z.number().int().min(1).max(900).optional(),
    MemorySize: z.number().int().min(128).max(10240).optional(),
    Publish: z.literal(false, { errorMap: () => ({ message: 'must be false: hearth has no published versions (functions run $LATEST)' }) }).optional(),
    Environment: EnvironmentSchema.optional(),
    PackageType: z.literal('Zip', { errorMap: () => ({ message: "must be 'Zip' (container images are not supported)" }) }).optional(),
    Architectures: ArchitecturesSchema.optional(),
    Tags: TagsSchema.optional(),
    TracingConfig: TracingConfigSchema.optional(),
})
    .strict();
export const UpdateFunctionCodeBody = z
    .object({
    ZipFile: Base64.optional(),
    Publish: z.literal(false, { errorMap: () => ({ message: 'must be false: hearth has no published versions (functions run $LATEST)' }) }).optional(),
    DryRun: z.literal(false, { errorMap: () => ({ message: 'must be false: hearth does not support dry-run code updates' }) }).optional(),
    RevisionId: z.string().max(128).optional(),
    Architectures: ArchitecturesSchema.optional(),
})
    .strict()
    .refine((b) => b.ZipFile !== undefined, { message: 'ZipFile is required (hearth accepts only direct zip uploads, not S3 objects or container images)', path: ['ZipFile'] });
export const UpdateFunctionConfigurationBody = z
    .object({
    Role: RoleSchema.optional(),
    Handler: HandlerSchema.optional(),
    Description: z.string().max(256).optional(),
    Timeout: z.number().int().min(1).max(900).optional(),
    MemorySize: z.number().int().min(128).max(10240).optional(),
    Environment: EnvironmentSchema.optional(),
    Runtime: RuntimeSchema.optional(),
    RevisionId: z.string().max(128).optional(),
    TracingConfig: TracingConfigSchema.optional(),
})
    .strict();
export const ListFunctionsQuery = z
    .object({
    Marker: z.string().min(1).max(1024).optional(),
    MaxItems: z.coerce.number().int().min(1).max(10000).optional(),
    FunctionVersion: z.literal('ALL', { errorMap: () => ({ message: "must be 'ALL'" }) }).optional(),
    MasterRegion: z.string().max(64).optional(),
})
    .strict();
export const InvokeHeaders = z.object({
    invocationType: z.enum(['RequestResponse', 'Event', 'DryRun'], { errorMap: () => ({ message: "must be 'RequestResponse', 'Event' or 'DryRun'" }) }).default('RequestResponse'),
    logType: z.enum(['None', 'Tail'], { errorMap: () => ({ message: "must be 'None' or 'Tail'" }) }).default('None'),
    clientContext: z
        .string()
        .max(3583, 'must be at most 3583 bytes')
        .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64-encoded JSON')
        .optional(),
});
// ---- mapping ----
export function toHearthRuntime(runtime) {
    return RUNTIME_TO_HEARTH[runtime];
}
/** The manifest fields a Lambda request sets (Lambda names → hearth names). */
export function manifestPatch(body) {
    const patch = {};
    if (body.Runtime !== undefined)
        patch.runtime = toHearthRuntime(body.Runtime);
    if (body.Handler !== undefined)
        patch.handler = body.Handler;
    if (body.Description !== undefined)
        patch.description = body.Description;
    if (body.Timeout !== undefined)
        patch.timeoutS = body.Timeout;
    if (body.MemorySize !== undefined)
        patch.memoryMB = body.MemorySize;
    if (body.Environment !== undefined)
        patch.env = body.Environment.Variables ?? {};
    return patch;
}
const MANIFEST_TO_LAMBDA_FIELD = { runtime: 'Runtime', handler: 'Handler', description: 'Description', timeoutS: 'Timeout', memoryMB: 'MemorySize', env: 'Environment.Variables', name: 'FunctionName' };
/** Rewrites a hearth manifest error ("field 'env.X' ...") with Lambda's field names. */
export function lambdaFieldName(field) {
    const [head, ...rest] = field.split('.');
    const mapped = MANIFEST_TO_LAMBDA_FIELD[head ?? ''];
    return mapped ? [mapped, ...rest].join('.') : field;
}
/** Lambda's timestamp format: 2024-01-31T12:34:56.789+0000. */
export function lambdaTimestamp(iso) {
    return new Date(iso).toISOString().replace('Z', '+0000');
}
export function codeSha256Base64(hex) {
    return Buffer.from(hex, 'hex').toString('base64');
}
/** A stable revision id per version (changes with every code or configuration update). */
export function revisionId(v) {
    const h = crypto.createHash('sha256').update(`${v.name}\0${v.version}\0${v.createdAt}\0${v.codeSha256}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
export function functionConfiguration(v, meta, region) {
    const m = v.manifest;
    return {
        FunctionName: v.name,
        FunctionArn: functionArn(region, v.name),
        Runtime: RUNTIME_TO_LAMBDA[m.runtime],
        Role: meta?.role ?? DEFAULT_ROLE,
        Handler: m.handler,
        CodeSize: meta && meta.codeSha256 === v.codeSha256 ? meta.codeSize : v.codeBytes,
        Description: m.description ?? '',
        Timeout: m.timeoutS,
        MemorySize: m.memoryMB,
        LastModified: lambdaTimestamp(v.createdAt),
        CodeSha256: codeSha256Base64(v.codeSha256),
        Version: LATEST,
        ...(Object.keys(m.env).length > 0 ? { Environment: { Variables: m.env } } : {}),
        TracingConfig: { Mode: 'PassThrough' },
        RevisionId: revisionId(v),
        State: 'Active',
        LastUpdateStatus: 'Successful',
        PackageType: 'Zip',
        Architectures: [HOST_ARCHITECTURE],
    };
}
//# sourceMappingURL=model.js.map