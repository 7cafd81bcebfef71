import { isHearthError } from '../errors.js';
export const LAMBDA_ERRORS = {
    ResourceNotFoundException: { status: 404, type: 'User' },
    ResourceConflictException: { status: 409, type: 'User' },
    InvalidParameterValueException: { status: 400, type: 'User' },
    InvalidRequestContentException: { status: 400, type: 'User' },
    RequestTooLargeException: { status: 413, type: 'User' },
    CodeStorageExceededException: { status: 400, type: 'User' },
    TooManyRequestsException: { status: 429, type: 'User' },
    PreconditionFailedException: { status: 412, type: 'User' },
    UnsupportedMediaTypeException: { status: 415, type: 'User' },
    UnknownOperationException: { status: 404, type: 'User' },
    MissingAuthenticationTokenException: { status: 403, type: 'User' },
    IncompleteSignatureException: { status: 400, type: 'User' },
    UnrecognizedClientException: { status: 403, type: 'User' },
    InvalidSignatureException: { status: 403, type: 'User' },
    ServiceException: { status: 500, type: 'Service' },
};
export class LambdaApiError extends Error {
    type;
    extra;
    status;
    constructor(type, message, 
    /** Extra body members (e.g. TooManyRequestsException's `Reason`) and response headers. */
    extra = {}) {
        super(message);
        this.type = type;
        this.extra = extra;
        this.name = type;
        this.status = extra.status ?? LAMBDA_ERRORS[type].status;
    }
    body() {
        return { Type: LAMBDA_ERRORS[this.type].type, Message: this.message, ...this.extra.body };
    }
}
/** Maps any error raised while serving a Lambda route to Lambda's error shape. */
export function toLambdaError(error, context = {}) {
    if (error instanceof LambdaApiError)
        return error;
    if (isHearthError(error)) {
        switch (error.code) {
            case 'HEARTH_E_FUNCTION_NOT_FOUND':
                return new LambdaApiError('ResourceNotFoundException', context.functionArn ? `Function not found: ${context.functionArn}` : error.message);
            case 'HEARTH_E_NOT_FOUND':
                return new LambdaApiError('ResourceNotFoundException', error.message);
            case 'HEARTH_E_CONFLICT':
                return new LambdaApiError('ResourceConflictException', error.message);
            case 'HEARTH_E_TOO_MANY_REQUESTS':
                return new LambdaApiError('TooManyRequestsException', `Rate Exceeded. ${error.message}`, {
                    body: { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' },
                    headers: { 'retry-after': '1' },
                });
            case 'HEARTH_E_PAYLOAD_TOO_LARGE':
                return new LambdaApiError('RequestTooLargeException', error.message);
            case 'HEARTH_E_PACKAGE_TOO_LARGE':
                return new LambdaApiError('RequestTooLargeException', error.message);
            case 'HEARTH_E_MANIFEST_INVALID':
            case 'HEARTH_E_PACKAGE_INVALID':
            case 'HEARTH_E_PACKAGE_TRAVERSAL':
            case 'HEARTH_E_PACKAGE_SYMLINK':
            case 'HEARTH_E_BAD_REQUEST':
                return new LambdaApiError('InvalidParameterValueException', error.message);
            case 'HEARTH_E_SHUTTING_DOWN':
            case 'HEARTH_E_CAPACITY':
                return new LambdaApiError('ServiceException', error.message, { status: 503 });
            default:
                return new LambdaApiError('ServiceException', 'internal error; see the hearth log');
        }
    }
    const fastifyError = error;
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return new LambdaApiError('RequestTooLargeException', `Request must be smaller than the limit for the ${context.operation ?? 'requested'} operation`);
    }
    if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return new LambdaApiError('UnsupportedMediaTypeException', fastifyError.message ?? 'unsupported media type');
    }
    if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
        return new LambdaApiError('InvalidRequestContentException', fastifyError.message ?? 'bad request');
    }
    return new LambdaApiError('ServiceException', 'internal error; see the hearth log');
}
export function sendLambdaError(reply, error) {
    for (const [name, value] of Object.entries(error.extra.headers ?? {}))
        reply.header(name, value);
    return reply.code(error.status).header('x-amzn-ErrorType', error.type).type('application/json').send(JSON.stringify(error.body()));
}
//# sourceMappingURL=errors.js.map