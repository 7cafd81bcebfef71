// AWS Signature Version 4 verification for received requests. The signature is
// recomputed over the request as received (method, path, query, the headers the
// client listed in SignedHeaders, the body's SHA-256) with the maintained
// @smithy/signature-v4 signer that the AWS SDK itself uses, then compared with
// the given one in constant time. Only the `Authorization` header form is
// accepted (no presigned query-string URLs).
import crypto from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { z } from 'zod';
export class SigV4Error extends Error {
    code;
    constructor(code, message) {
        super(message);
        this.code = code;
        this.name = 'SigV4Error';
    }
}
const ALGORITHM = 'AWS4-HMAC-SHA256';
const MISMATCH_MESSAGE = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const AuthorizationParts = z
    .object({
    Credential: z.string().regex(/^[A-Za-z0-9]{1,128}\/\d{8}\/[a-z0-9-]{1,64}\/[a-z0-9-]{1,64}\/aws4_request$/, "must be 'ACCESS_KEY_ID/YYYYMMDD/region/service/aws4_request'"),
    SignedHeaders: z.string().regex(/^[a-z0-9!#$%&'*+.^_`|~-]+(;[a-z0-9!#$%&'*+.^_`|~-]+)*$/, 'must be lower-case header names separated by ;'),
    Signature: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
})
    .strict();
const AmzDate = z.string().regex(/^\d{8}T\d{6}Z$/, "must look like '20240131T235959Z'");
/** SHA-256 and HMAC-SHA256 from node:crypto in the shape the signer expects (the SDK's own hash-node does the same). */
class NodeSha256 {
    secret;
    hash;
    constructor(secret) {
        this.secret = secret;
        this.hash = this.create();
    }
    create() {
        if (this.secret === undefined)
            return crypto.createHash('sha256');
        const key = typeof this.secret === 'string' ? this.secret : ArrayBuffer.isView(this.secret) ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength) : Buffer.from(this.secret);
        return crypto.createHmac('sha256', key);
    }
    update(chunk) {
        this.hash.update(chunk);
    }
    digest() {
        return Promise.resolve(new Uint8Array(this.hash.digest()));
    }
    reset() {
        this.hash = this.create();
    }
}
function single(headers, name) {
    const values = headers[name];
    return values && values.length > 0 ? values.join(',') : undefined;
}
function compactDate(date) {
    return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}
function parseAmzDate(text) {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
export class SigV4Verifier {
    service;
    maxSkewMs;
    byKeyId;
    constructor(credentials, service, maxSkewMs = 15 * 60 * 1000) {
        this.service = service;
        this.maxSkewMs = maxSkewMs;
        this.byKeyId = new Map(credentials.map((c) => [c.accessKeyId, c]));
    }
    /**
     * Checks what can be checked before the body is read: the Authorization header's
     * form, a known access key, the scope (date, service) and the clock skew.
     */
    precheck(headers, rawUrl, now = new Date()) {
        const query = rawUrl.includes('?') ? new URLSearchParams(rawUrl.slice(rawUrl.indexOf('?') + 1)) : undefined;
        const authorization = single(headers, 'authorization');
        if (!authorization) {
            if (query?.has('X-Amz-Signature') || query?.has('X-Amz-Algorithm')) {
                throw new SigV4Error('incomplete', 'presigned (query string) requests are not supported; sign the request with an Authorization header');
            }
            throw new SigV4Error('missing', 'Missing Authentication Token');
        }
        const space = authorization.indexOf(' ');
        const algorithm = space === -1 ? authorization : authorization.slice(0, space);
        if (algorithm !== ALGORITHM) {
            throw new SigV4Error('incomplete', `Authorization header: unsupported algorithm '${algorithm.slice(0, 40)}'; only ${ALGORITHM} (Signature Version 4) is accepted`);
        }
        const parts = {};
        for (const part of authorization.slice(space + 1).split(',')) {
            const trimmed = part.trim();
            const eq = trimmed.indexOf('=');
            if (eq <= 0)
                throw new SigV4Error('incomplete', `Authorization header: '${trimmed.slice(0, 40)}' is not name=value`);
            const name = trimmed.slice(0, eq);
            if (name in parts)
                throw new SigV4Error('incomplete', `Authorization header: '${name}' appears twice`);
            parts[name] = trimmed.slice(eq + 1);
        }
        const parsed = AuthorizationParts.safeParse(parts);
        if (!parsed.success) {
            const issue = parsed.error.issues[0];
            const field = issue.path.join('.');
            throw new SigV4Error('incomplete', issue.code === 'invalid_type' ? `Authorization header requires '${field}' parameter` : issue.code === 'unrecognized_keys' ? `Authorization header: unknown parameter(s) ${issue.keys.join(', ')}` : `Authorization header: '${field}' ${issue.message}`);
        }
        const [accessKeyId, scopeDate, region, service] = parsed.data.Credential.split('/');
        const credential = this.byKeyId.get(accessKeyId);
        if (!credential)
            throw new SigV4Error('unknown-key', 'The security token included in the request is invalid.');
        if (service !== this.service)
            throw new SigV4Error('mismatch', `Credential should be scoped to correct service: '${this.service}'.`);
        const amzDateText = single(headers, 'x-amz-date');
        if (!amzDateText)
            throw new SigV4Error('incomplete', "Authorization header requires existence of a 'X-Amz-Date' header");
        if (!AmzDate.safeParse(amzDateText).success)
            throw new SigV4Error('incomplete', `X-Amz-Date '${amzDateText.slice(0, 40)}' ${AmzDate.safeParse('').error.issues[0].message}`);
        const signingDate = parseAmzDate(amzDateText);
        if (Number.isNaN(signingDate.getTime()))
            throw new SigV4Error('incomplete', `X-Amz-Date '${amzDateText}' is not a valid date`);
        if (scopeDate !== amzDateText.slice(0, 8)) {
            throw new SigV4Error('mismatch', `Credential should be scoped to a valid date: the scope's date ${scopeDate} differs from X-Amz-Date ${amzDateText}`);
        }
        const skew = signingDate.getTime() - now.getTime();
        if (skew < -this.maxSkewMs) {
            throw new SigV4Error('expired', `Signature expired: ${amzDateText} is now earlier than ${compactDate(new Date(now.getTime() - this.maxSkewMs))} (${compactDate(now)} - ${this.maxSkewMs / 60_000} min.)`);
        }
        if (skew > this.maxSkewMs) {
            throw new SigV4Error('expired', `Signature not yet current: ${amzDateText} is still later than ${compactDate(new Date(now.getTime() + this.maxSkewMs))} (${compactDate(now)} + ${this.maxSkewMs / 60_000} min.)`);
        }
        const signedHeaders = parsed.data.SignedHeaders.split(';');
        for (const required of ['host', 'x-amz-date']) {
            if (!signedHeaders.includes(required))
                throw new SigV4Error('mismatch', `'${required}' must be a signed header (SignedHeaders is '${parsed.data.SignedHeaders}')`);
        }
        return { credential, region, service, signedHeaders, signature: parsed.data.Signature, signingDate };
    }
    /** Recomputes the signature over the received request and compares it with the given one. */
    async verify(prechecked, request) {
        const body = request.body && request.body.length > 0 ? request.body : undefined;
        const declaredHash = single(request.headers, 'x-amz-content-sha256');
        if (declaredHash !== undefined) {
            const actual = crypto.createHash('sha256').update(body ?? Buffer.alloc(0)).digest('hex');
            if (declaredHash !== actual) {
                throw new SigV4Error('mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
            }
        }
        const headers = {};
        for (const name of prechecked.signedHeaders) {
            const value = single(request.headers, name);
            if (value === undefined)
                throw new SigV4Error('mismatch', `signed header '${name}' is not in the request`);
            headers[name] = value;
        }
        const queryIndex = request.rawUrl.indexOf('?');
        const path = queryIndex === -1 ? request.rawUrl : request.rawUrl.slice(0, queryIndex);
        const query = {};
        if (queryIndex !== -1) {
            for (const [key, value] of new URLSearchParams(request.rawUrl.slice(queryIndex + 1))) {
                const existing = query[key];
                query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
            }
        }
        const signer = new SignatureV4({
            service: prechecked.service,
            region: prechecked.region,
            credentials: { accessKeyId: prechecked.credential.accessKeyId, secretAccessKey: prechecked.credential.secretAccessKey },
            sha256: NodeSha256,
            applyChecksum: false,
            uriEscapePath: true,
        });
        const signed = await signer.sign({ method: request.method, protocol: 'http:', hostname: headers.host ?? '', path, query, headers, body }, { signingDate: prechecked.signingDate, signableHeaders: new Set(prechecked.signedHeaders), unsignableHeaders: new Set() });
        const produced = /SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? ''));
        if (!produced)
            throw new Error('signer produced no Authorization header');
        if (produced[1] !== prechecked.signedHeaders.join(';')) {
            throw new SigV4Error('mismatch', `${MISMATCH_MESSAGE} (SignedHeaders must be sorted, lower-case and name only signable headers present in the request)`);
        }
        const expected = Buffer.from(produced[2], 'hex');
        const given = Buffer.from(prechecked.signature, 'hex');
        if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) {
            throw new SigV4Error('mismatch', MISMATCH_MESSAGE);
        }
    }
}
//# sourceMappingURL=sigv4.js.map