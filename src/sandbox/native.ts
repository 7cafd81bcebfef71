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

export interface WaitStatus {
  pid: number;
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** Signal name ('SIGKILL'), or null when it exited. */
  signal: NodeJS.Signals | null;
}

export interface NativeConstants {
  CLONE_NEWNS: number;
  CLONE_NEWUTS: number;
  CLONE_NEWIPC: number;
  CLONE_NEWUSER: number;
  CLONE_NEWPID: number;
  CLONE_NEWNET: number;
  CLONE_NEWCGROUP: number;
  MS_RDONLY: number;
  MS_NOSUID: number;
  MS_NODEV: number;
  MS_NOEXEC: number;
  MS_REMOUNT: number;
  MS_BIND: number;
  MS_REC: number;
  MS_PRIVATE: number;
  MS_SLAVE: number;
  MNT_DETACH: number;
  CLOSE_RANGE_CLOEXEC: number;
  MADV_WILLNEED: number;
  MADV_COLD: number;
  MADV_PAGEOUT: number;
  POLLIN: number;
  POLLERR: number;
  POLLHUP: number;
  POLLNVAL: number;
}

/** What processMadvise() did. */
export interface MadviseResult {
  /** Bytes the kernel advised. */
  advisedBytes: number;
  /** Ranges asked for (the mappings of /proc/<pid>/maps without [vsyscall]/[vvar]/[vdso], or the given ones). */
  ranges: number;
  /** Ranges the kernel refused and that were skipped: EINVAL (locked, PFN or hugetlb mappings) or ENOMEM (unmapped meanwhile). */
  skippedRanges: number;
  skippedBytes: number;
  einval: number;
  enomem: number;
  /** process_madvise calls made (iovec batches of up to 512, plus a retry per refused range). */
  calls: number;
}

export interface HearthNative {
  /**
   * Raw fork() of this Node process (prefer forkNode(), which checks that it is safe): every mapping is marked MADV_DOFORK first (V8
   * marks parts of its heap DONTFORK), and the child calls uv_loop_fork(). Returns
   * the child's pid in the parent and 0 in the child. The child is single-threaded;
   * it must leave with exit(), never process.exit() (that runs the parent's exit
   * handlers), and must close the parent's handles (sockets, servers) it does not use.
   */
  forkProcess(): number;
  /** waitpid(2); with nohang, null while the child runs. Node cannot reap pids it did not spawn. */
  waitpid(pid: number, nohang?: boolean): WaitStatus | null;
  /** getpid(2). Node caches process.pid at startup, so after forkProcess() it is the parent's. */
  getpid(): number;
  /** _exit(2): no exit handlers, no flushing of JS streams. */
  exit(code: number): never;
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  setNoNewPrivs(): void;
  setPdeathsig(signal: number): void;
  /** Empties the bounding, ambient and inheritable sets (needs CAP_SETPCAP: call it before switching uid). */
  dropBoundingCapabilities(): void;
  /** Empties the permitted, effective and inheritable sets (always allowed: call it after switching uid). */
  clearCapabilities(): void;
  /** Raw syscalls (this thread only): call them in a single-threaded, forked process. */
  setresuid(ruid: number, euid: number, suid: number): void;
  setresgid(rgid: number, egid: number, sgid: number): void;
  setgroups(gids: number[]): void;
  /** Installs a deny-list filter (rules as in the plan: 'ptrace:EPERM', 'clone:EPERM:0:0x7e020000'); sets no_new_privs first. */
  installSeccomp(rules: string[]): void;
  /** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC). */
  socketPair(): [number, number];
  /** Blocking sendmsg with SCM_RIGHTS; data (default one byte) travels with the fds. Returns bytes sent. */
  sendFds(socket: number, fds: number[], data?: Buffer): number;
  /** Blocking recvmsg; the received fds are O_CLOEXEC. Empty data and no fds at EOF. */
  recvFds(socket: number, maxBytes?: number): { fds: number[]; data: Buffer };
  closeRange(first: number, last: number, flags?: number): void;
  /**
   * Runs the enter-sandbox sequence (native/enter.c) with args = planToArgs(plan)
   * (no command). This process becomes the sandbox's supervisor and never returns;
   * the call returns in the sandboxed child, which goes on running JavaScript.
   * A failure writes {step, errno, message} to the plan's status fd and exits 127.
   */
  enterSandbox(args: string[]): void;
  /**
   * pidfd_open(pid) + process_madvise(advice) over `ranges` ([start, length, ...])
   * or, without them, over every mapping of the process. Another process's memory:
   * MADV_PAGEOUT (reclaim now: anonymous pages to swap, private file pages dropped),
   * MADV_COLD, MADV_WILLNEED (read back ahead: swap-in and file readahead). Needs
   * CAP_SYS_NICE and ptrace access to pid. Other errors than a refused range throw.
   */
  processMadvise(pid: number, advice: number, ranges?: number[]): MadviseResult;
  /** getppid(2). */
  getppid(): number;
  /** dup3(oldfd, newfd, cloexec ? O_CLOEXEC : 0); with oldfd === newfd, sets or clears FD_CLOEXEC. Returns newfd. */
  dup2(oldfd: number, newfd: number, cloexec?: boolean): number;
  /**
   * poll(2) for POLLIN on `fds`; blocks the calling thread (the event loop too) up to
   * `timeoutMs` (-1: forever). Returns each fd's revents; all 0 on timeout or EINTR.
   */
  poll(fds: number[], timeoutMs: number): number[];
  /** pidfd_open(2): a close-on-exec fd that polls readable once child `pid` has exited. */
  pidfdOpen(pid: number): number;
  constants: NativeConstants;
}

let loaded: HearthNative | undefined;

/** Loads native/build/Release/hearth_native.node (once). */
export function loadNative(): HearthNative {
  if (loaded) return loaded;
  if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `hearth's native addon is not built (${NATIVE_ADDON_PATH} is missing): run \`npm run build:native\``, {
      path: NATIVE_ADDON_PATH,
    });
  }
  const require = createRequire(import.meta.url);
  loaded = require(NATIVE_ADDON_PATH) as HearthNative;
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
export function forkable(): boolean {
  const options = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return options.includes('--single-threaded');
}

function assertForkable(what: string): void {
  if (!forkable()) {
    throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `${what}: this Node process was not started with --single-threaded; a forked child would deadlock at its first garbage collection (V8's worker threads do not survive fork)`);
  }
}

/** forkProcess() after checking that this process may fork (see forkable()). */
export function forkNode(): number {
  assertForkable('forkNode');
  return loadNative().forkProcess();
}

/** The sandboxed child of enterSandbox() is a fork of this process: same rule as forkNode(). */
export function assertEnterSandboxAllowed(): void {
  assertForkable('enterSandbox');
}

/** The helper's path; throws the same clear error when it is not built. */
export function sandboxLibPath(): string {
  if (!fs.existsSync(SANDBOX_LIB_PATH)) {
    throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `hearth's sandbox library is not built (${SANDBOX_LIB_PATH} is missing): run \`npm run build:native\``, { path: SANDBOX_LIB_PATH });
  }
  return SANDBOX_LIB_PATH;
}

export function hearthEnterPath(): string {
  if (!fs.existsSync(HEARTH_ENTER_PATH)) {
    throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `hearth's sandbox helper is not built (${HEARTH_ENTER_PATH} is missing): run \`npm run build:native\``, {
      path: HEARTH_ENTER_PATH,
    });
  }
  return HEARTH_ENTER_PATH;
}
