// hearth's in-instance bootstrap for Node.js (docs/protocol.md).
//
// Loads one function's handler, reports `ready` (or `init_error`) on the
// channel, then serves `invoke` messages one at a time with Lambda's handler
// semantics (promise, sync return value, callback, context.done/succeed/fail).
//
// Structure (so that a zygote can reuse the pieces after a fork):
//   readEnvironment(env)  -> { channelFd, spec }       environment parsing only
//   openChannel(fd)       -> Channel                   framing over the socket
//   loadFunction(spec)    -> { handler, initMs }       throws InitFailure
//   serve(channel, fn)                                 the invocation loop
// This file exports nothing: tenant code can import it, and must not get a
// handle on the channel or the bootstrap's state that way. Nothing that has to
// be unique per instance (random state, ids) is created at module load.
//
// No dependencies; plain modern JavaScript.

import { spawnSync } from 'node:child_process';
import cryptoModule from 'node:crypto';
import fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isNativeError } from 'node:util/types';

/** Frames larger than this are a protocol error (docs/protocol.md, "Framing"). */
const MAX_FRAME_BYTES = 32 * 1024 * 1024;
const SENTINEL_PREFIX = '\u0000HEARTH-END ';
const HANDLER_EXTENSIONS = ['.js', '.mjs', '.cjs'];

// Captured before tenant code runs, so that a tenant replacing globals cannot
// break the framing.
const jsonStringify = JSON.stringify;
const jsonParse = JSON.parse;
const performanceNow = performance.now.bind(performance);
const timeOrigin = performance.timeOrigin;
const dateNow = Date.now;
const exit = process.exit.bind(process);

/**
 * @typedef {{ errorType: string, errorMessage: string, stackTrace: string[] }} LambdaError
 * @typedef {{ handler: string, taskRoot: string, functionName: string, functionVersion: string,
 *             memoryMB: number, timeoutS: number }} FunctionSpec
 * @typedef {{ handler: Function, initMs: number, spec: FunctionSpec, afterFork?: Function }} LoadedFunction
 * @typedef {{ t: 'invoke', id: string, event: string, deadline: number,
 *             context: { functionName: string, functionVersion: string, memoryLimitMB: number,
 *                        invokedFunctionArn: string, logGroupName: string, logStreamName: string } }} InvokeMessage
 */

/** A failure to load the function: reported as `init_error`. */
class InitFailure extends Error {
  /** @param {LambdaError} error */
  constructor(error) {
    super(error.errorMessage);
    this.lambdaError = error;
  }
}

/** A violation of the protocol by the agent: the channel is closed, the process exits 1. */
class ProtocolError extends Error {}

// ---------------------------------------------------------------------------
// Environment

/**
 * Reads the bootstrap's configuration from the environment (docs/protocol.md, "Process contract").
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ channelFd: number, spec: FunctionSpec }}
 */
function readEnvironment(env) {
  const required = (name) => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`hearth bootstrap: environment variable ${name} is not set`);
    return value;
  };
  const channelFd = Number(required('HEARTH_CHANNEL_FD'));
  if (!Number.isInteger(channelFd) || channelFd < 0) throw new Error(`hearth bootstrap: HEARTH_CHANNEL_FD is not a file descriptor: ${env.HEARTH_CHANNEL_FD}`);
  const taskRoot = required('HEARTH_TASK_ROOT');
  if (!path.isAbsolute(taskRoot)) throw new Error(`hearth bootstrap: HEARTH_TASK_ROOT must be an absolute path, got ${taskRoot}`);
  return {
    channelFd,
    spec: {
      handler: required('HEARTH_HANDLER'),
      taskRoot,
      functionName: env.HEARTH_FUNCTION_NAME ?? '',
      functionVersion: env.HEARTH_FUNCTION_VERSION ?? '',
      memoryMB: Number(env.HEARTH_MEMORY_MB ?? 0),
      timeoutS: Number(env.HEARTH_TIMEOUT_S ?? 0),
    },
  };
}

// ---------------------------------------------------------------------------
// Channel

class Channel {
  /** @param {net.Socket} socket */
  constructor(socket) {
    this.socket = socket;
    /** @type {Buffer[]} */
    this.chunks = [];
    this.buffered = 0;
    /** @type {number | undefined} length of the frame being read, once its header is in */
    this.frameLength = undefined;
    /** @type {(message: any) => void} */
    this.onMessage = () => undefined;
    /** @type {(error: Error) => void} */
    this.onProtocolError = () => undefined;
    /** @type {() => void} */
    this.onClose = () => undefined;
    socket.on('data', (chunk) => this.push(chunk));
    socket.on('end', () => this.onClose());
    socket.on('close', () => this.onClose());
    socket.on('error', () => undefined); // 'close' follows
  }

  /** @param {Buffer} chunk */
  push(chunk) {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    try {
      for (;;) {
        if (this.frameLength === undefined) {
          if (this.buffered < 4) return;
          this.frameLength = this.take(4).readUInt32BE(0);
          if (this.frameLength > MAX_FRAME_BYTES) throw new ProtocolError(`frame of ${this.frameLength} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
        }
        if (this.buffered < this.frameLength) return;
        const body = this.take(this.frameLength);
        this.frameLength = undefined;
        let message;
        try {
          message = jsonParse(body.toString('utf8'));
        } catch (error) {
          throw new ProtocolError(`frame is not JSON: ${error.message}`);
        }
        if (message === null || typeof message !== 'object') throw new ProtocolError('frame is not a JSON object');
        this.onMessage(message);
      }
    } catch (error) {
      this.chunks = [];
      this.buffered = 0;
      this.onProtocolError(error);
    }
  }

  /** Removes and returns the first `n` buffered bytes (n <= this.buffered). */
  take(n) {
    const first = this.chunks[0];
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const all = Buffer.concat(this.chunks, this.buffered);
    const out = all.subarray(0, n);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return out;
  }

  /**
   * Writes one message; resolves once it was handed to the kernel.
   * @returns {Promise<void>}
   */
  send(message) {
    const body = Buffer.from(jsonStringify(message), 'utf8');
    if (body.length > MAX_FRAME_BYTES) throw new Error(`frame of ${body.length} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(body.length, 0);
    return new Promise((resolve) => {
      this.socket.write(Buffer.concat([header, body]), () => resolve());
    });
  }

  /** While unreferenced, the channel does not keep the event loop alive (see serve()). */
  ref() {
    this.socket.ref();
  }

  unref() {
    this.socket.unref();
  }
}

/**
 * Opens the channel on an inherited socket fd.
 * @param {number} fd
 */
function openChannel(fd) {
  return new Channel(new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: false }));
}

// ---------------------------------------------------------------------------
// Errors

/**
 * Lambda's error shape for anything thrown or rejected.
 * @param {unknown} value
 * @returns {LambdaError}
 */
function toLambdaError(value) {
  try {
    if (isNativeError(value) || (value !== null && typeof value === 'object' && typeof value.message === 'string' && typeof value.stack === 'string')) {
      const error = /** @type {Error} */ (value);
      const name = typeof error.name === 'string' && error.name !== '' ? error.name : 'Error';
      return {
        errorType: name,
        errorMessage: String(error.message),
        stackTrace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
      };
    }
    return { errorType: typeof value, errorMessage: String(value), stackTrace: [] };
  } catch {
    return { errorType: typeof value, errorMessage: '(the thrown value could not be converted to a string)', stackTrace: [] };
  }
}

/** @param {string} errorType @param {string} errorMessage @param {unknown} [cause] @returns {LambdaError} */
function runtimeError(errorType, errorMessage, cause) {
  return { errorType, errorMessage, stackTrace: cause === undefined ? [] : toLambdaError(cause).stackTrace };
}

// ---------------------------------------------------------------------------
// Loading

/** @param {string} file */
function isFile(file) {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Loads the handler module and runs its init (module-level code).
 * @param {FunctionSpec} spec
 * @returns {Promise<LoadedFunction>}
 * @throws {InitFailure}
 */
async function loadFunction(spec) {
  const t0 = performanceNow();
  const dot = spec.handler.lastIndexOf('.');
  const modulePath = dot > 0 ? spec.handler.slice(0, dot) : '';
  const exportName = dot > 0 ? spec.handler.slice(dot + 1) : '';
  if (modulePath === '' || exportName === '' || modulePath.endsWith('/')) {
    throw new InitFailure(runtimeError('Runtime.MalformedHandlerName', `Bad handler '${spec.handler}': expected 'file.export', e.g. 'index.handler'`));
  }
  const taskRoot = path.resolve(spec.taskRoot);
  const base = path.resolve(taskRoot, modulePath);
  const relative = path.relative(taskRoot, base);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new InitFailure(runtimeError('Runtime.MalformedHandlerName', `Bad handler '${spec.handler}': the file must be inside the function's code`));
  }
  const file = HANDLER_EXTENSIONS.map((ext) => base + ext).find(isFile);
  if (file === undefined) {
    const tried = HANDLER_EXTENSIONS.map((ext) => modulePath + ext).join(', ');
    throw new InitFailure(runtimeError('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}': none of ${tried} exists in ${taskRoot}`));
  }
  try {
    process.chdir(taskRoot);
  } catch (error) {
    throw new InitFailure(runtimeError('Runtime.ImportModuleError', `Error: cannot enter the function's directory ${taskRoot}: ${error.message}`, error));
  }

  /** @type {Record<string, unknown>} */
  let namespace;
  try {
    namespace = await import(pathToFileURL(file).href);
  } catch (error) {
    throw new InitFailure(classifyLoadError(error, file));
  }
  let handler = namespace[exportName];
  // CommonJS modules whose exports Node cannot detect statically
  // (`module.exports = someObject`) only have them on the default export.
  const fallback = namespace.default;
  if (handler === undefined && fallback !== null && (typeof fallback === 'object' || typeof fallback === 'function')) {
    handler = fallback[exportName];
  }
  if (handler === undefined) {
    throw new InitFailure(runtimeError('Runtime.HandlerNotFound', `${spec.handler} is undefined or not exported`));
  }
  if (typeof handler !== 'function') {
    throw new InitFailure(runtimeError('Runtime.HandlerNotFound', `${spec.handler} is not a function`));
  }
  // The function's own after-fork hook (see runAfterForkHooks), looked up like the handler.
  let afterFork = namespace.hearthAfterFork;
  if (afterFork === undefined && fallback !== null && (typeof fallback === 'object' || typeof fallback === 'function')) afterFork = fallback.hearthAfterFork;
  return { handler, initMs: performanceNow() - t0, spec, ...(typeof afterFork === 'function' ? { afterFork } : {}) };
}

/**
 * Maps an error from importing the handler module to Lambda's init error types.
 * @param {unknown} error
 * @param {string} file the handler module
 * @returns {LambdaError}
 */
function classifyLoadError(error, file) {
  const shaped = toLambdaError(error);
  const code = error !== null && typeof error === 'object' ? /** @type {{ code?: unknown }} */ (error).code : undefined;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
    return { errorType: 'Runtime.ImportModuleError', errorMessage: `${shaped.errorType}: ${shaped.errorMessage}`, stackTrace: shaped.stackTrace };
  }
  if (error instanceof SyntaxError || shaped.errorType === 'SyntaxError') {
    // CommonJS syntax errors start their stack with "file:line", the source line
    // and a caret; ESM ones carry no location, so ask `node --check` for it.
    let stackTrace = shaped.stackTrace;
    let location = /^(\/.*):(\d+)$/.exec(stackTrace[0] ?? '')?.[0];
    if (location === undefined) {
      const excerpt = syntaxErrorExcerpt(file);
      if (excerpt.length > 0) {
        location = excerpt[0];
        stackTrace = [...excerpt, '', ...stackTrace];
      }
    }
    const where = location === undefined ? '' : ` (${location})`;
    return { errorType: 'Runtime.UserCodeSyntaxError', errorMessage: `SyntaxError: ${shaped.errorMessage}${where}`, stackTrace };
  }
  return shaped;
}

/**
 * The "file:line", source line and caret that `node --check` prints for a
 * syntax error in `file`; empty when the file itself parses (the error is in a
 * module it imports) or the check cannot run. Only used on the failure path.
 * @param {string} file
 * @returns {string[]}
 */
function syntaxErrorExcerpt(file) {
  try {
    const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'ignore', 'pipe'] });
    if (check.status === 0 || typeof check.stderr !== 'string') return [];
    const lines = check.stderr.split('\n');
    const end = lines.findIndex((line) => line.startsWith('SyntaxError'));
    if (end <= 0 || !/:\d+$/.test(lines[0] ?? '')) return [];
    return lines.slice(0, end).filter((line, i) => i < 3 || line.trim() !== '');
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------
// Output

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `buffer` to `fd` synchronously, waiting out EAGAIN on non-blocking pipes. */
function writeFullySync(fd, buffer) {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (error) {
      if (error.code === 'EAGAIN') {
        Atomics.wait(sleepCell, 0, 0, 1);
        continue;
      }
      if (error.code === 'EINTR') continue;
      return; // EPIPE/EBADF: nobody reads this stream any more
    }
  }
}

/** Resolves once what was written to process.stdout/stderr has reached the kernel. */
async function flushStdio() {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.destroyed || stream.writableLength === 0) continue;
    await new Promise((resolve) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('error', done);
        stream.off('close', done);
        resolve(undefined);
      };
      stream.on('drain', done);
      stream.on('error', done);
      stream.on('close', done);
    });
  }
}

/** Flushes the function's output, then marks the end of invocation `id` on stdout and stderr. */
async function writeSentinels(id) {
  await flushStdio();
  const line = Buffer.from(`${SENTINEL_PREFIX}${id}\n`, 'utf8');
  writeFullySync(1, line);
  writeFullySync(2, line);
}

// ---------------------------------------------------------------------------
// Invocations

/**
 * One running invocation. Whatever completes it first (return value, promise,
 * callback, context.done/succeed/fail, uncaught error, empty event loop) wins.
 */
class Invocation {
  /** @param {InvokeMessage} message */
  constructor(message) {
    this.id = message.id;
    this.deadline = Number(message.deadline);
    this.message = message;
    /** @type {{ ok: true, value: unknown } | { ok: false, error: LambdaError } | undefined} */
    this.outcome = undefined;
    /** A callback result that waits for the event loop to empty (callbackWaitsForEmptyEventLoop). */
    this.deferred = undefined;
    /** The process exits once the result has been written (uncaught error). */
    this.fatal = false;
    // Both are set again right before the handler is called.
    this.startedAt = timeOrigin + performanceNow();
    this.t0 = performanceNow();
    this.execMs = 0;
    /** @type {(v: void) => void} */
    let resolve = () => undefined;
    this.done = new Promise((r) => (resolve = r));
    this.resolveDone = resolve;
  }

  get finished() {
    return this.outcome !== undefined;
  }

  /** @param {{ ok: true, value: unknown } | { ok: false, error: LambdaError }} outcome */
  finish(outcome) {
    if (this.outcome !== undefined) return;
    this.execMs = performanceNow() - this.t0;
    this.outcome = outcome;
    this.resolveDone();
  }

  succeed(value) {
    this.finish({ ok: true, value });
  }

  fail(error) {
    this.finish({ ok: false, error: toLambdaError(error) });
  }
}

/** @param {Invocation} invocation @param {Record<string, any>} context */
function makeCallback(invocation, context) {
  return (error, result) => {
    if (invocation.finished) return;
    if (error !== undefined && error !== null) return invocation.fail(error);
    if (context.callbackWaitsForEmptyEventLoop === false) return invocation.succeed(result);
    // Lambda: the result is sent once the event loop is empty (see 'beforeExit' in serve()).
    invocation.deferred = { value: result };
  };
}

/** Lambda's `context` for one invocation. @param {Invocation} invocation */
function makeContext(invocation) {
  const c = invocation.message.context ?? {};
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: String(c.functionName ?? ''),
    functionVersion: String(c.functionVersion ?? ''),
    invokedFunctionArn: String(c.invokedFunctionArn ?? ''),
    memoryLimitInMB: String(c.memoryLimitMB ?? ''),
    awsRequestId: invocation.id,
    logGroupName: String(c.logGroupName ?? ''),
    logStreamName: String(c.logStreamName ?? ''),
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(0, invocation.deadline - dateNow()),
    done: (error, result) => {
      if (invocation.finished) return;
      if (error !== undefined && error !== null) invocation.fail(error);
      else invocation.succeed(result);
    },
    succeed: (result) => context.done(null, result),
    fail: (error) => context.done(error === undefined || error === null ? 'handled' : error),
  };
  return context;
}

/** @param {unknown} value */
function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof /** @type {any} */ (value).then === 'function';
}

/**
 * The result frame for a finished invocation.
 * @param {Invocation} invocation
 */
function resultMessage(invocation) {
  const timing = { execMs: invocation.execMs, startedAt: invocation.startedAt };
  const outcome = /** @type {NonNullable<Invocation['outcome']>} */ (invocation.outcome);
  if (!outcome.ok) return { t: 'result', id: invocation.id, ok: false, error: outcome.error, ...timing };
  let payload;
  try {
    payload = outcome.value === undefined ? 'null' : jsonStringify(outcome.value);
  } catch (error) {
    return { t: 'result', id: invocation.id, ok: false, error: runtimeError('Runtime.SerializationError', `Unable to marshal response: ${toLambdaError(error).errorMessage}`), ...timing };
  }
  // JSON.stringify gives undefined for functions and symbols.
  if (payload === undefined) payload = 'null';
  return { t: 'result', id: invocation.id, ok: true, payload, ...timing };
}

/**
 * Serves invocations on `channel` with the loaded function until the channel closes.
 * @param {Channel} channel
 * @param {LoadedFunction} fn
 */
function serve(channel, fn) {
  /** @type {Invocation | undefined} */
  let current;
  /** Set while the result of `current` is being written. */
  let writing = false;
  let exitAfterWrite = false;

  const fatalOutsideInvocation = (label, error) => {
    const shaped = toLambdaError(error);
    try {
      writeFullySync(2, Buffer.from(`hearth bootstrap: ${label} outside an invocation: ${shaped.stackTrace.length > 0 ? shaped.stackTrace.join('\n') : `${shaped.errorType}: ${shaped.errorMessage}`}\n`));
    } catch {
      // nothing left to report to
    }
    if (writing) exitAfterWrite = true;
    else exit(1);
  };

  installFatalHandlers((kind, error) => {
    if (current !== undefined && !current.finished) {
      current.fatal = true;
      if (kind === 'unhandledRejection') {
        const shaped = toLambdaError(error);
        const message = isNativeError(error) || shaped.stackTrace.length > 0 ? `${shaped.errorType}: ${shaped.errorMessage}` : shaped.errorMessage;
        current.finish({ ok: false, error: { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: message, stackTrace: shaped.stackTrace } });
      } else {
        current.fail(error);
      }
      return;
    }
    fatalOutsideInvocation(kind === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception', error);
  });

  // The channel is unreferenced during an invocation, so 'beforeExit' fires when
  // the function has no more work pending: that completes callback-style
  // handlers (callbackWaitsForEmptyEventLoop) and handlers that never finish.
  process.on('beforeExit', () => {
    if (current === undefined || current.finished) return;
    current.succeed(current.deferred !== undefined ? current.deferred.value : null);
  });

  const run = async (/** @type {InvokeMessage} */ message) => {
    const invocation = new Invocation(message);
    current = invocation;
    channel.unref();
    let event;
    try {
      event = jsonParse(message.event);
    } catch (error) {
      invocation.finish({ ok: false, error: runtimeError('Runtime.InvalidEvent', `The event is not JSON: ${toLambdaError(error).errorMessage}`) });
    }
    if (!invocation.finished) {
      const context = makeContext(invocation);
      const callback = makeCallback(invocation, context);
      const handler = fn.handler;
      invocation.startedAt = timeOrigin + performanceNow();
      invocation.t0 = performanceNow();
      try {
        const returned = handler(event, context, callback);
        if (isThenable(returned)) {
          Promise.resolve(returned).then(
            (value) => invocation.succeed(value),
            (error) => invocation.fail(error),
          );
        } else if (handler.length < 3 && returned !== undefined) {
          // A synchronous handler's return value (Lambda itself would ignore it).
          invocation.succeed(returned);
        }
        // Otherwise wait for callback(), context.done/succeed/fail, or the
        // event loop to empty (then the result is null, as in Lambda).
      } catch (error) {
        invocation.fail(error);
      }
    }
    await invocation.done;
    writing = true;
    const result = resultMessage(invocation);
    await writeSentinels(invocation.id);
    let frame = result;
    // Tell the agent not to send another invocation: this process exits right after the result.
    if (invocation.fatal) frame.exiting = true;
    try {
      await channel.send(frame);
    } catch (error) {
      frame = { t: 'result', id: invocation.id, ok: false, error: runtimeError('Function.ResponseSizeTooLarge', `Response payload size exceeded the maximum frame size (${MAX_FRAME_BYTES} bytes)`), execMs: invocation.execMs, startedAt: invocation.startedAt };
      await channel.send(frame);
    }
    writing = false;
    current = undefined;
    channel.ref();
    if (invocation.fatal || exitAfterWrite) exit(1);
  };

  channel.onMessage = (message) => {
    if (message.t !== 'invoke') return channel.onProtocolError(new ProtocolError(`unexpected message type ${jsonStringify(message.t)}`));
    if (current !== undefined) return channel.onProtocolError(new ProtocolError(`invoke ${message.id} arrived while ${current.id} is running`));
    if (typeof message.id !== 'string' || typeof message.event !== 'string') return channel.onProtocolError(new ProtocolError('invoke needs a string id and a string event'));
    run(message).catch((error) => fatalOutsideInvocation('bootstrap failure', error));
  };
}

/** @type {((kind: 'uncaughtException' | 'unhandledRejection', error: unknown) => void) | undefined} */
let fatalHandler;

/** Routes uncaught exceptions and unhandled rejections to `handler` (replacing the previous one). */
function installFatalHandlers(handler) {
  if (fatalHandler === undefined) {
    process.on('uncaughtException', (error) => fatalHandler?.('uncaughtException', error));
    process.on('unhandledRejection', (reason) => fatalHandler?.('unhandledRejection', reason));
  }
  fatalHandler = handler;
}

// ---------------------------------------------------------------------------
// Main (cold start)

/** @param {Channel} channel @param {LambdaError} error */
async function reportInitError(channel, error) {
  await flushStdio();
  await channel.send({ t: 'init_error', error });
  exit(1);
}

/**
 * Runs an instance on `channel`: `prepare` loads the function (cold start) or
 * finishes a forked copy of it (after-fork hooks); its failure, or an error that
 * escapes it asynchronously, is reported as `init_error`. Then `ready`, then serve.
 * @param {Channel} channel
 * @param {() => Promise<LoadedFunction>} prepare
 */
async function runInstance(channel, prepare) {
  channel.onClose = () => exit(0);
  channel.onProtocolError = (error) => {
    writeFullySync(2, Buffer.from(`hearth bootstrap: protocol error: ${error.message}\n`));
    channel.socket.destroy();
    exit(1);
  };
  channel.onMessage = (message) => channel.onProtocolError(new ProtocolError(`unexpected ${jsonStringify(message.t)} before the function was loaded`));

  // An error escaping the function's init (e.g. from a timer) fails the init.
  let initFailed = false;
  installFatalHandlers((kind, error) => {
    if (initFailed) return;
    initFailed = true;
    void reportInitError(channel, initErrorOf(kind, error));
  });

  let fn;
  try {
    fn = await prepare();
  } catch (error) {
    if (initFailed) return;
    initFailed = true;
    await reportInitError(channel, error instanceof InitFailure ? error.lambdaError : toLambdaError(error));
    return;
  }
  if (initFailed) return;
  serve(channel, fn);
  await channel.send({ t: 'ready', pid: process.pid, initMs: fn.initMs });
}

/** @param {'uncaughtException' | 'unhandledRejection'} kind @param {unknown} error @returns {LambdaError} */
function initErrorOf(kind, error) {
  const shaped = toLambdaError(error);
  return kind === 'unhandledRejection' ? { ...shaped, errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: `${shaped.errorType}: ${shaped.errorMessage}` } : shaped;
}

async function main() {
  let configuration;
  try {
    configuration = readEnvironment(process.env);
  } catch (error) {
    writeFullySync(2, Buffer.from(`${error.message}\n`));
    exit(1);
    return;
  }
  installAfterForkRegistry();
  await runInstance(openChannel(configuration.channelFd), () => loadFunction(configuration.spec));
}

// ---------------------------------------------------------------------------
// After-fork hooks (docs/protocol.md, "Zygotes and templates")
//
// A forked instance is a copy of its template, where the function's init ran:
// state the init created that must be unique per instance (connections, seeds,
// ids) is re-created in a hook. Two ways, both optional, both awaited in this
// order before the instance reports `ready`: `globalThis.hearth.afterFork(fn)`
// (e.g. from a library), then the handler module's export `hearthAfterFork`.
// In cold instances the hooks never run. A hook that throws fails the instance
// like an init error.

/** @type {Array<() => unknown>} */
const afterForkHooks = [];

function installAfterForkRegistry() {
  if (Object.prototype.hasOwnProperty.call(globalThis, 'hearth')) return;
  const hearth = Object.freeze({
    /** Registers `hook` to run in every instance forked from this template. */
    afterFork(hook) {
      if (typeof hook !== 'function') throw new TypeError('hearth.afterFork(hook): hook must be a function');
      afterForkHooks.push(hook);
    },
  });
  Object.defineProperty(globalThis, 'hearth', { value: hearth, writable: true, enumerable: false, configurable: true });
}

/** @param {LoadedFunction} fn */
async function runAfterForkHooks(fn) {
  for (const hook of afterForkHooks.splice(0)) await hook();
  if (typeof fn.afterFork === 'function') await fn.afterFork();
}

// ---------------------------------------------------------------------------
// Zygote and template mode (docs/protocol.md, "Zygotes and templates")
//
// The zygote (`node --single-threaded bootstrap.mjs`, HEARTH_MODE=zygote) is
// trusted: it runs only this file. It forks a child per `template` request; the
// child loads the function (its init runs once) and becomes template[F], which
// forks one instance per `fork` request. Requests arrive with fds (SCM_RIGHTS)
// on a control socket, which is never a net.Socket (libuv drops SCM_RIGHTS):
// the zygote and the template run a synchronous loop in the native addon
// (poll, recvmsg, fork, pidfds), so their event loop is frozen while they wait.
// The fork returns in the child, which leaves the loop and runs the event loop
// (the template's init continues; an instance serves its channel).

const SIGKILL = 9;
/** Node's randomUUID cache holds 128 UUIDs (lib/internal/crypto/random.js, kBatchSize). */
const UUID_BATCH = 128;
/** Node's randomInt cache holds 1024 draws of 6 bytes (randomCache); one more call refills it. */
const RANDOM_INT_DRAWS = 1025;

/**
 * Uniqueness after fork. Math.random is replaced (before any function code runs)
 * by the same generator as V8's (xorshift128+), whose state every forked child
 * seeds again from crypto.randomFillSync (OpenSSL re-seeds itself in a new
 * process, from getrandom). V8's own Math.random state cannot be re-seeded from
 * JavaScript (or N-API).
 * crypto.randomUUID and crypto.randomInt keep a cache of random bytes inside
 * Node: if the parent used them, the child's first call first uses up what the
 * parent had cached.
 * @returns {() => void} call in every forked child, first thing
 */
function installForkSafeRandomness() {
  const { randomFillSync } = cryptoModule; // captured: function code may replace the module's exports
  // xorshift128+ (V8's own Math.random algorithm) on 32-bit halves: state0 hi, lo, state1 hi, lo.
  const state = new Uint32Array(4);
  const seed = () => {
    do randomFillSync(state);
    while ((state[0] | state[1] | state[2] | state[3]) === 0);
  };
  seed();
  const random = {
    random() {
      let s1h = state[0];
      let s1l = state[1];
      const s0h = state[2];
      const s0l = state[3];
      state[0] = s0h;
      state[1] = s0l;
      s1h ^= (s1h << 23) | (s1l >>> 9); // s1 ^= s1 << 23
      s1l ^= s1l << 23;
      s1l ^= (s1l >>> 17) | (s1h << 15); // s1 ^= s1 >> 17
      s1h ^= s1h >>> 17;
      s1h ^= s0h ^ (s0h >>> 26); // s1 ^= s0 ^ (s0 >> 26)
      s1l ^= s0l ^ ((s0l >>> 26) | (s0h << 6));
      state[2] = s1h;
      state[3] = s1l;
      // The top 52 bits of the new state0, as V8 does: a double in [0, 1).
      return (s0h * 1048576 + (s0l >>> 12)) / 4503599627370496;
    },
  }.random;
  Object.defineProperty(Math, 'random', { value: random, writable: true, enumerable: false, configurable: true });

  // Which of Node's caches the current process used before a fork, and which a forked child must first use up.
  const used = { uuid: false, int: false };
  const stale = { uuid: false, int: false };
  const { randomUUID, randomInt } = cryptoModule;
  const useUpUUIDs = () => {
    stale.uuid = false;
    for (let i = 0; i < UUID_BATCH; i++) randomUUID();
  };
  const wrappedUUID = {
    randomUUID(options) {
      used.uuid = true;
      if (stale.uuid) useUpUUIDs();
      return randomUUID(options);
    },
  }.randomUUID;
  const wrappedInt = {
    randomInt(...args) {
      used.int = true;
      if (stale.int) {
        stale.int = false;
        for (let i = 0; i < RANDOM_INT_DRAWS; i++) randomInt(0x1000000000000 - 1);
      }
      return randomInt(...args);
    },
  }.randomInt;
  cryptoModule.randomUUID = wrappedUUID;
  cryptoModule.randomInt = wrappedInt;
  // Web Crypto (globalThis.crypto.randomUUID) shares the cache.
  const webCrypto = globalThis.crypto;
  const prototype = webCrypto !== undefined ? Object.getPrototypeOf(webCrypto) : undefined;
  const webUUID = prototype?.randomUUID;
  if (typeof webUUID === 'function') {
    Object.defineProperty(prototype, 'randomUUID', {
      value: {
        randomUUID() {
          used.uuid = true;
          if (stale.uuid) useUpUUIDs();
          return webUUID.call(this);
        },
      }.randomUUID,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  syncBuiltinESMExports();
  return () => {
    seed();
    stale.uuid = used.uuid;
    stale.int = used.int;
    used.uuid = false;
    used.int = false;
  };
}

/**
 * Node caches process.pid, and its teardown at exit needs V8's worker threads,
 * which a forked child does not have (it crashes there): a forked process takes
 * its own pid and leaves with _exit(2) once the 'exit' event has run.
 * @param {any} native
 */
let forkedExitInstalled = false;
function becomeForkedProcess(native) {
  Object.defineProperty(process, 'pid', { value: native.getpid(), writable: false, enumerable: true, configurable: true });
  if (forkedExitInstalled) return; // an instance inherits its template's
  forkedExitInstalled = true;
  process.reallyExit = (code) => native.exit(Number(code) & 0xff);
  const emit = process.emit;
  process.emit = function (name, ...args) {
    if (name !== 'exit') return Reflect.apply(emit, this, [name, ...args]);
    // Natural end of the event loop, uncaught exception, process.exit: 'exit' is the last thing that runs.
    try {
      return Reflect.apply(emit, this, [name, ...args]);
    } finally {
      native.exit(Number(process.exitCode ?? args[0] ?? 0) & 0xff);
    }
  };
}

/** The native addon (native/addon.c). */
function loadNative() {
  const file = process.env.HEARTH_NATIVE_ADDON || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native/build/Release/hearth_native.node');
  return createRequire(import.meta.url)(file);
}

/** Length-prefixed JSON frames on a blocking control socket, with fds (SCM_RIGHTS) on requests. */
class ControlSocket {
  /** @param {any} native @param {number} fd */
  constructor(native, fd) {
    this.native = native;
    this.fd = fd;
  }

  /**
   * Exactly `n` bytes, collecting any fds that come with them; null at end of stream before the first byte.
   * @param {number} n @param {number[]} fds
   */
  read(n, fds) {
    const parts = [];
    let got = 0;
    while (got < n) {
      const { fds: more, data } = this.native.recvFds(this.fd, Math.min(n - got, 65536));
      fds.push(...more);
      if (data.length === 0) {
        if (got === 0) return null;
        throw new ProtocolError('control stream ended inside a frame');
      }
      parts.push(data);
      got += data.length;
    }
    return Buffer.concat(parts, n);
  }

  /** The next request and its fds; null at end of stream. Throws ProtocolError on a bad frame. */
  receive() {
    /** @type {number[]} */
    const fds = [];
    try {
      const header = this.read(4, fds);
      if (header === null) return null;
      const length = header.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) throw new ProtocolError(`control frame of ${length} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
      const body = length === 0 ? Buffer.alloc(0) : this.read(length, fds);
      if (body === null) throw new ProtocolError('control stream ended inside a frame');
      let message;
      try {
        message = jsonParse(body.toString('utf8'));
      } catch (error) {
        throw new ProtocolError(`control frame is not JSON: ${error.message}`);
      }
      if (message === null || typeof message !== 'object' || Array.isArray(message)) throw new ProtocolError('control frame is not a JSON object');
      return { message, fds };
    } catch (error) {
      closeFds(fds);
      if (error instanceof ProtocolError) throw error;
      // The agent is gone.
      if (error?.code === 'ECONNRESET' || error?.code === 'EPIPE') return null;
      throw new ProtocolError(`receiving a request failed: ${error?.message ?? error}`);
    }
  }

  send(message) {
    const body = Buffer.from(jsonStringify(message), 'utf8');
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(body.length, 0);
    writeFullySync(this.fd, Buffer.concat([header, body]));
  }
}

/** @param {number[]} fds */
function closeFds(fds) {
  for (const fd of fds) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/**
 * The zygote's and the template's loop: waits (blocking, the event loop frozen)
 * for `kind` requests, forks a child for each and reports the exit of every child
 * it reaped as {t:'exit', pid, code, signal}. Returns only in a forked child,
 * with the request and its fds; the parent never leaves the loop (it exits when
 * the control socket closes).
 * @param {any} native
 * @param {ControlSocket} control
 * @param {'template' | 'fork'} kind
 * @param {() => void} beforeFork
 * @returns {{ message: any, fds: number[] }}
 */
function forkLoop(native, control, kind, beforeFork, fork = () => native.forkProcess()) {
  const { POLLIN, POLLHUP, POLLERR, POLLNVAL } = native.constants;
  /** pidfd → pid of every child not reaped yet */
  const children = new Map();
  const reap = (pidfd, pid) => {
    const status = native.waitpid(pid, true);
    if (status === null) return;
    children.delete(pidfd);
    closeFds([pidfd]);
    const signal = status.signal === null ? null : (osConstants.signals[status.signal] ?? SIGKILL);
    control.send({ t: 'exit', pid, code: status.code, signal });
  };
  for (;;) {
    const pidfds = [...children.keys()];
    const revents = native.poll([control.fd, ...pidfds], -1);
    pidfds.forEach((pidfd, i) => {
      if (revents[i + 1] !== 0) reap(pidfd, children.get(pidfd));
    });
    if ((revents[0] & POLLNVAL) !== 0) native.exit(1);
    if ((revents[0] & (POLLIN | POLLHUP | POLLERR)) === 0) continue;
    let request;
    try {
      request = control.receive();
    } catch (error) {
      writeFullySync(2, Buffer.from(`hearth bootstrap: protocol error on the control socket: ${error.message}\n`));
      native.exit(1);
    }
    if (request === null) native.exit(0);
    const { message, fds } = request;
    if (message.t !== kind || fds.length < 3 || fds.some((fd) => fd <= 3)) {
      closeFds(fds);
      control.send({ t: 'error', id: message.id, message: `expected a ${kind} request with 3 fds` });
      continue;
    }
    beforeFork();
    let pid;
    try {
      pid = fork();
    } catch (error) {
      closeFds(fds);
      control.send({ t: 'error', id: message.id, message: `fork failed: ${error.message}` });
      continue;
    }
    if (pid === 0) {
      // The child: nothing of the loop's state is its business (pidfds of siblings still running).
      closeFds([...children.keys()]);
      return { message, fds };
    }
    closeFds(fds);
    control.send({ t: kind === 'template' ? 'spawned' : 'forked', id: message.id, pid });
    try {
      children.set(native.pidfdOpen(pid), pid);
    } catch (error) {
      writeFullySync(2, Buffer.from(`hearth bootstrap: pidfd_open(${pid}) failed: ${error.message}\n`));
    }
  }
}

/**
 * First thing in a forked child: die with the parent (and exit if it is already
 * gone), then make fds[0..2] its 3 (close-on-exec), 1 and 2; the received fds
 * are closed. fd 3 was the parent's control socket: the child keeps nothing of it.
 * @param {any} native @param {number} parentPid @param {number[]} fds
 */
function enterForkedChild(native, parentPid, fds) {
  native.setPdeathsig(SIGKILL);
  // (parentPid null: pid 1 of a new pid namespace, whose parent is outside it: getppid() is 0.)
  if (parentPid !== null && native.getppid() !== parentPid) native.exit(1);
  becomeForkedProcess(native);
  const [channel, out, err] = fds;
  native.dup2(out, 1);
  native.dup2(err, 2);
  native.dup2(channel, 3, true);
  closeFds(fds);
}

/**
 * A sandboxed template (docs/security.md, "Instances forked from a template"): the
 * enter-sandbox sequence in template mode (this process becomes the sandbox's
 * supervisor; the call returns in the sandboxed child, status reported on `statusFd`),
 * then one more pid namespace, owned by the sandbox's user namespace, so that each
 * instance can be forked into a pid namespace of its own with an ordinary fork().
 * @param {any} native @param {{ template: string[] }} sandbox @param {number} statusFd @param {string} cwd
 */
function enterTemplateSandbox(native, sandbox, statusFd, cwd) {
  if (statusFd === undefined) throw new Error('a sandboxed template request needs 4 fds (channel, stdout, stderr, status)');
  // The agent wrote the plan for a status fd 4; here it is wherever it arrived.
  const args = sandbox.template.map((arg, i, all) => (all[i - 1] === '--status-fd' ? String(statusFd) : arg));
  native.enterSandbox(args);
  process.chdir(cwd); // Node caches the working directory
  native.nestTemplatePidns();
}

/**
 * In the zygote's child: become template[F] (load F once), then fork instances on request.
 * @param {any} native @param {number} zygotePid @param {any} request @param {number[]} fds
 * @param {() => void} reseed
 */
async function templateMain(native, zygotePid, request, fds, reseed) {
  const sandbox = request.sandbox;
  try {
    enterForkedChild(native, zygotePid, fds.slice(0, 3));
    if (sandbox) enterTemplateSandbox(native, sandbox, fds[3], String(request.spec?.taskRoot ?? '/'));
    else closeFds(fds.slice(3));
    reseed();
  } catch (error) {
    writeFullySync(2, Buffer.from(`hearth bootstrap: template setup failed: ${error.message}\n`));
    native.exit(1);
  }
  const control = new ControlSocket(native, 3);
  const spec = request.spec ?? {};
  for (const [key, value] of Object.entries(spec.env ?? {})) process.env[key] = String(value);
  /** @type {FunctionSpec} */
  const functionSpec = {
    handler: String(spec.handler ?? ''),
    taskRoot: String(spec.taskRoot ?? ''),
    functionName: String(spec.functionName ?? ''),
    functionVersion: String(spec.functionVersion ?? ''),
    memoryMB: Number(spec.memoryMB ?? 0),
    timeoutS: Number(spec.timeoutS ?? 0),
  };

  let initFailed = false;
  const fail = async (/** @type {LambdaError} */ error) => {
    if (initFailed) return;
    initFailed = true;
    await flushStdio();
    control.send({ t: 'init_error', error });
    native.exit(1);
  };
  installFatalHandlers((kind, error) => void fail(initErrorOf(kind, error)));
  let fn;
  try {
    fn = await loadFunction(functionSpec);
    // What the init left to settle (an unhandled rejection, an immediate) fails it here, not in every instance.
    await new Promise((resolve) => setImmediate(resolve));
  } catch (error) {
    await fail(error instanceof InitFailure ? error.lambdaError : toLambdaError(error));
    return;
  }
  if (initFailed) return;
  await flushStdio();
  control.send({ t: 'ready', pid: process.pid, initMs: fn.initMs });

  const templatePid = process.pid;
  const fork = sandbox ? () => native.forkInstance() : () => native.forkProcess();
  const { fds: got } = forkLoop(native, control, 'fork', () => undefined, fork);
  instanceMain(native, sandbox ? null : templatePid, fn, got, reseed, sandbox);
}

/**
 * In the template's child: join the instance's cgroups, take the channel and
 * output fds, re-seed, run the after-fork hooks, then serve like a cold instance.
 * @param {any} native @param {number} templatePid @param {LoadedFunction} fn @param {number[]} fds
 * @param {() => void} reseed
 */
function instanceMain(native, templatePid, fn, fds, reseed, sandbox) {
  // The child must never fall back into the template's loop: any failure ends it.
  try {
    native.setPdeathsig(SIGKILL);
    if (templatePid !== null && native.getppid() !== templatePid) native.exit(1);
    // Join the instance's own cgroup(s) first: fds 3.. are cgroup.procs files the agent opened.
    for (const fd of fds.slice(3)) {
      fs.writeSync(fd, '0');
      fs.closeSync(fd);
    }
    enterForkedChild(native, templatePid, fds.slice(0, 3));
    // Sandboxed: private /tmp and /proc attempt, no capabilities, the final uid, the full seccomp filter.
    if (sandbox) native.instanceEnter(sandbox.instance);
    reseed();
  } catch (error) {
    writeFullySync(2, Buffer.from(`hearth bootstrap: instance setup failed: ${error.message}\n`));
    native.exit(1);
  }
  void runInstance(openChannel(3), async () => {
    await runAfterForkHooks(fn);
    return { ...fn, initMs: 0 };
  });
}

/** Trusted fork server: forks one child per template request. */
function zygoteMain() {
  const native = loadNative();
  const controlFd = Number(process.env.HEARTH_CHANNEL_FD ?? '3');
  for (const key of Object.keys(process.env)) if (key.startsWith('HEARTH_')) delete process.env[key];
  installAfterForkRegistry();
  const reseed = installForkSafeRandomness();
  const control = new ControlSocket(native, controlFd);
  const zygotePid = process.pid;
  control.send({ t: 'zygote-ready', pid: zygotePid });
  const { message, fds } = forkLoop(native, control, 'template', () => undefined);
  void templateMain(native, zygotePid, message, fds, reseed);
}

if (process.env.HEARTH_MODE === 'zygote') zygoteMain();
else void main();
