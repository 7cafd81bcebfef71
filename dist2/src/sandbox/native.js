// The native addon (native/, C + N-API): the syscalls Node.js lacks, typed.
// Every failing call throws an Error whose `code` is the errno name ('EPERM'),
// `errno` the negative errno (as Node's own errors), `syscall` the call and,
// where there is one, `path`.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HearthError } from '../errors.js';
const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root: compiled code lives in dist/src/sandbox/, sources in src/sandbox/. */
export const REPO_ROOT = [path.resolve(here, '../../..'), path.resolve(here, '../..')].find((dir) => fs.existsSync(path.join(dir, 'native', 'binding.gyp'))) ?? path.resolve(here, '../../..');
export const NATIVE_BUILD_DIR = path.join(REPO_ROOT, 'native', 'build', 'Release');
export const NATIVE_ADDON_PATH = path.join(NATIVE_BUILD_DIR, 'hearth_native.node');
/** The cold path's helper executable (native/hearth-enter.c). */
export const HEARTH_ENTER_PATH = path.join(NATIVE_BUILD_DIR, 'hearth-enter');
/** The sequence as a shared library, for runtimes that load it with their FFI (Python's zygote: ctypes). */
export const SANDBOX_LIB_PATH = path.join(NATIVE_BUILD_DIR, 'hearth_sandbox.so');
let loaded;
/** Loads native/build/Release/hearth_native.node (once). */
export function loadNative() {
    if (loaded)
        return loaded;
    if (!fs.existsSync(NATIVE_ADDON_PATH)) {
        throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `hearth's native addon is not built (${NATIVE_ADDON_PATH} is missing): run \`npm run build:native\``, {
            path: NATIVE_ADDON_PATH,
        });
    }
    const require = createRequire(import.meta.url);
    loaded = require(NATIVE_ADDON_PATH);
    return loaded;
}
/**
 * Whether this process may fork itself. V8's background tasks (concurrent GC,
 * concurrent compilation) run on worker threads that a forked child does not
 * have; the first task the child posts waits forever on a condition variable
 * whose waiters were copied from the parent (measured: a scavenge in the child
 * hangs in pthread_cond_signal; changing the flag after start-up crashes V8).
 * A process that forks must therefore start with `node --single-threaded`.
 */
export function forkable() {
    const options = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
    return options.includes('--single-threaded');
}
function assertForkable(what) {
    if (!forkable()) {
        throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `${what}: this Node process was not started with --single-threaded; a forked child would deadlock at its first garbage collection (V8's worker threads do not survive fork)`);
    }
}
/** forkProcess() after checking that this process may fork (see forkable()). */
export function forkNode() {
    assertForkable('forkNode');
    return loadNative().forkProcess();
}
/** The sandboxed child of enterSandbox() is a fork of this process: same rule as forkNode(). */
export function assertEnterSandboxAllowed() {
    assertForkable('enterSandbox');
}
/** The helper's path; throws the same clear error when it is not built. */
export function sandboxLibPath() {
    if (!fs.existsSync(SANDBOX_LIB_PATH)) {
        throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `hearth's sandbox library is not built (${SANDBOX_LIB_PATH} is missing): run \`npm run build:native\``, { path: SANDBOX_LIB_PATH });
    }
    return SANDBOX_LIB_PATH;
}
export function hearthEnterPath() {
    if (!fs.existsSync(HEARTH_ENTER_PATH)) {
        throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `hearth's sandbox helper is not built (${HEARTH_ENTER_PATH} is missing): run \`npm run build:native\``, {
            path: HEARTH_ENTER_PATH,
        });
    }
    return HEARTH_ENTER_PATH;
}
//# sourceMappingURL=native.js.map