// Bearer-token check for the API (required when hearth listens beyond loopback).
import crypto from 'node:crypto';
import { HearthError } from '../errors.js';
const OPEN_ROUTES = new Set(['/healthz']);
export function checkBearer(request, token) {
    if (!token)
        return;
    if (OPEN_ROUTES.has(request.url.split('?')[0]))
        return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    const given = Buffer.from(match?.[1] ?? '');
    const expected = Buffer.from(token);
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
        throw new HearthError('HEARTH_E_UNAUTHORIZED', match ? 'invalid bearer token' : 'missing bearer token (Authorization: Bearer <token>)');
    }
}
//# sourceMappingURL=auth.js.map