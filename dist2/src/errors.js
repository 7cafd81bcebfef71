// Stable error codes. Each says who is at fault (the caller or the system) and
// which HTTP status it maps to, so API, CLI and logs report the same thing.
export const ERROR_CODES = {
    HEARTH_E_BAD_REQUEST: { status: 400, fault: 'user' },
    HEARTH_E_MANIFEST_INVALID: { status: 400, fault: 'user' },
    HEARTH_E_PACKAGE_INVALID: { status: 400, fault: 'user' },
    HEARTH_E_PACKAGE_TRAVERSAL: { status: 400, fault: 'user' },
    HEARTH_E_PACKAGE_SYMLINK: { status: 400, fault: 'user' },
    HEARTH_E_PACKAGE_TOO_LARGE: { status: 413, fault: 'user' },
    HEARTH_E_PAYLOAD_TOO_LARGE: { status: 413, fault: 'user' },
    HEARTH_E_UNAUTHORIZED: { status: 401, fault: 'user' },
    HEARTH_E_FUNCTION_NOT_FOUND: { status: 404, fault: 'user' },
    HEARTH_E_NOT_FOUND: { status: 404, fault: 'user' },
    HEARTH_E_CONFLICT: { status: 409, fault: 'user' },
    HEARTH_E_TOO_MANY_REQUESTS: { status: 429, fault: 'user' },
    HEARTH_E_CAPACITY: { status: 503, fault: 'system' },
    HEARTH_E_SHUTTING_DOWN: { status: 503, fault: 'system' },
    HEARTH_E_HOST_UNSUPPORTED: { status: 500, fault: 'system' },
    HEARTH_E_INTERNAL: { status: 500, fault: 'system' },
};
export class HearthError extends Error {
    code;
    status;
    fault;
    details;
    constructor(code, message, details) {
        super(message);
        this.name = 'HearthError';
        this.code = code;
        this.status = ERROR_CODES[code].status;
        this.fault = ERROR_CODES[code].fault;
        this.details = details;
    }
    toJSON() {
        return { error: { code: this.code, message: this.message, fault: this.fault, ...(this.details ? { details: this.details } : {}) } };
    }
}
export function isHearthError(error) {
    return error instanceof HearthError;
}
//# sourceMappingURL=errors.js.map