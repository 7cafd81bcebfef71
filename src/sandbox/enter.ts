// The enter-sandbox plan: computed here as plain data, executed by native C code
// (native/enter.c) in one of two ways:
//   cold path:  spawnSandboxed(plan, command) runs `hearth-enter <planToArgs(plan)> -- command`;
//   fork path:  a child forked from a zygote calls enterSandbox(plan) and goes on in JavaScript.
// Either way a failing step comes back as one JSON line {step, errno, message} on the
// plan's status fd, and readEnterStatus() turns it into a SandboxEnterError.
// docs/security.md describes the sequence step by step.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { HearthError } from '../errors.js';
import { assertEnterSandboxAllowed, hearthEnterPath, loadNative, REPO_ROOT } from './native.js';

/** Where the sandbox sees things. */
export const SANDBOX_CODE_DIR = '/var/task';
export const SANDBOX_RUNTIME_DIR = '/opt/hearth/runtime';
/** The empty host directory each sandbox mounts its new root on (in its own mount namespace). */
export const DEFAULT_ROOTFS_DIR = '/run/hearth/rootfs';
/** uid/gid of the function's code inside the user namespace (host: base + 1000). */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
export const SANDBOX_USER = 'hearth';
export const ID_RANGE_SIZE = 65536;

export const SECCOMP_PROFILE_PATH = path.join(REPO_ROOT, 'src', 'sandbox', 'seccomp-profile.json');

export type RlimitName =
  | 'as' | 'core' | 'cpu' | 'data' | 'fsize' | 'locks' | 'memlock' | 'msgqueue' | 'nice'
  | 'nofile' | 'nproc' | 'rss' | 'rtprio' | 'rttime' | 'sigpending' | 'stack';
export type RlimitValue = number | 'unlimited';

export interface SandboxBind {
  /** Host path. */
  source: string;
  /** Absolute path inside the sandbox. */
  target: string;
}

/** Everything the C sequence does, as plain data. Paths may not contain ':'. */
export interface SandboxPlan {
  /** The fd (in the helper / the forked child) that gets {step, errno, message} on failure. */
  statusFd: number;
  /** Optional fd that gets {"steps": [[name, ns since start], ...]} just before exec/return. */
  timingsFd?: number;
  /** Fds that survive into the sandbox (0, 1, 2 and the protocol channel 3 at least). */
  keepFds: number[];
  hostname: string;
  /** A network namespace to join (/run/netns/x, /proc/<pid>/ns/net); null: a new one with only lo. */
  netnsPath: string | null;
  /** cgroup.procs files to join (v1 and v2; shape of cgroups.ts CgroupTarget), null: stay. */
  cgroup: { procsFiles: string[]; v2Dir: string | null } | null;
  /** Host uid/gid that the sandbox's 0 maps to, and the range size (shape of shell-pool.ts IdRange). */
  ids: { uid: number; gid: number; count: number };
  /** Identity of the function's code inside the user namespace. */
  uid: number;
  gid: number;
  rootfsDir: string;
  rootSizeBytes: number;
  /** Read-only base: only what the runtime needs. */
  readonlyBinds: SandboxBind[];
  symlinks: Array<{ target: string; path: string }>;
  /** Generated files (passwd, group, hosts, ...), mode 0644, read-only once the root is. */
  files: Array<{ path: string; content: string }>;
  /** The function's code, read-only. */
  code: SandboxBind;
  /** The runtime bootstrap, read-only. */
  runtime: SandboxBind | null;
  /** /tmp: a fresh tmpfs of this size, or a host directory bind-mounted writable. */
  tmp: { sizeBytes: number } | { hostDir: string };
  devShmSizeBytes: number;
  /** Names of host devices bind-mounted into the tmpfs /dev. */
  devices: string[];
  /** Hidden: /dev/null over files, an empty read-only tmpfs over directories. */
  maskedPaths: string[];
  /** Bind-mounted read-only over themselves. */
  readonlyPaths: string[];
  rlimits: Partial<Record<RlimitName, { soft: RlimitValue; hard: RlimitValue }>>;
  cwd: string;
  /** Seccomp deny rules, 'name:ERRNO' / 'name:ERRNO:arg:mask' / 'name:kill' (see loadSeccompRules). */
  seccomp: string[];
  /**
   * Template mode (fork path): stay uid 0 of the user namespace with only the capabilities
   * an instance needs to give itself a private /tmp and pid namespace (native/instance.c);
   * uid/gid must be 0 and seccomp should be templateSeccompRules().
   */
  templateCaps?: boolean;
}

/** A failed step of the sequence, as reported by the sandboxed child or its supervisor. */
export class SandboxEnterError extends HearthError {
  readonly step: string;
  readonly errno: string;

  constructor(step: string, errno: string, message: string) {
    super('HEARTH_E_INTERNAL', `sandbox setup failed at step ${step} (${errno}): ${message}`, { step, errno });
    this.name = 'SandboxEnterError';
    this.step = step;
    this.errno = errno;
  }
}

// ---- the seccomp profile -------------------------------------------------------

export interface SeccompProfileEntry {
  syscall: string;
  action: string;
  argMask?: { arg: number; mask: string; flags?: string[] };
  reason: string;
}

let defaultProfile: SeccompProfileEntry[] | undefined;

/** The profile's deny rules; hearth's own (the default) is read once, not on every start. */
export function loadSeccompProfile(file = SECCOMP_PROFILE_PATH): SeccompProfileEntry[] {
  if (file === SECCOMP_PROFILE_PATH && defaultProfile) return defaultProfile;
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { denied: SeccompProfileEntry[] };
  if (file === SECCOMP_PROFILE_PATH) defaultProfile = profile.denied;
  return profile.denied;
}

/** The profile as the C side's rule strings. */
export function seccompRules(entries: SeccompProfileEntry[] = loadSeccompProfile()): string[] {
  return entries.map((e) => (e.argMask ? `${e.syscall}:${e.action}:${e.argMask.arg}:${e.argMask.mask}` : `${e.syscall}:${e.action}`));
}

const CLONE_NEWNS = 0x00020000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;

/**
 * A template's filter: the profile, except that mount is allowed, clone and unshare may
 * create mount, pid and network namespaces, and setns may join a pid namespace — what
 * forking an instance into its own /tmp, pid view and loopback takes (native/instance.c). Both only reach namespaces owned by the sandbox's user
 * namespace. Every instance installs the full profile on top (filters stack).
 */
export function templateSeccompRules(entries: SeccompProfileEntry[] = loadSeccompProfile()): string[] {
  const cloneRule = entries.find((e) => e.syscall === 'clone' && e.argMask);
  const nsFlags = Number(cloneRule?.argMask?.mask ?? 0x7e020000);
  // Deny any namespace flag but these (arg masks: the rule fires when (arg & mask) != 0).
  const allowOnly = (allowed: number): string => `0x${((nsFlags & ~allowed) >>> 0).toString(16)}`;
  return entries
    .filter((e) => e.syscall !== 'mount')
    .map((e): SeccompProfileEntry => {
      if (e.syscall === 'clone' || e.syscall === 'unshare') {
        // An instance is forked into new mount, pid and network namespaces (Python: clone; Node: unshare + fork).
        return { ...e, argMask: { arg: 0, mask: allowOnly(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) } };
      }
      // Node's template returns to its own pid namespace after each fork (setns(fd, CLONE_NEWPID)).
      if (e.syscall === 'setns') return { ...e, argMask: { arg: 1, mask: allowOnly(CLONE_NEWPID) } };
      return e;
    })
    .flatMap((e) => seccompRules([e]));
}

/** What an instance forked from a sandboxed template enters with (native/instance.c). */
export function instanceSandboxArgs(options: { tmpSizeBytes?: number } = {}): string[] {
  const args = ['--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID), '--tmp-size', String(options.tmpSizeBytes ?? 64 << 20)];
  // The instance's own /proc is masked like a cold sandbox's.
  for (const p of MASKED_PATHS) args.push('--mask', p);
  for (const p of READONLY_PATHS) args.push('--read-only', p);
  for (const rule of seccompRules()) args.push('--seccomp', rule);
  return args;
}

// ---- building a plan -------------------------------------------------------------

export interface SandboxPlanInput {
  codeDir: string;
  runtimeDir?: string | null;
  ids: { uid: number; gid: number; count?: number };
  hostname?: string;
  netnsPath?: string | null;
  cgroup?: { procsFiles: string[]; v2Dir: string | null } | null;
  /** Default: a 64 MiB tmpfs. */
  tmp?: { sizeBytes: number } | { hostDir: string };
  /** Defaults: 3 (the protocol channel) besides 0, 1, 2. */
  keepFds?: number[];
  statusFd?: number;
  /** Host paths to add read-only at the same place (e.g. a runtime's extra data). */
  extraReadonly?: string[];
  /** /etc/resolv.conf content; default: the host's when joining a netns, empty otherwise. */
  resolvConf?: string;
  rlimits?: SandboxPlan['rlimits'];
  cwd?: string;
  rootfsDir?: string;
}

/** Host directories that Debian's merged /usr turns into symlinks (bin -> usr/bin). */
const TOP_LEVEL_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** What runtimes read from /etc: CA certificates, the loader cache, alternatives symlinks, time zone. */
const ETC_READONLY = ['/etc/ssl/certs', '/etc/ssl/openssl.cnf', '/etc/ca-certificates.conf', '/etc/alternatives', '/etc/ld.so.cache', '/etc/mime.types'];
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
/** runc's defaults: kernel information that is not namespaced. */
const MASKED_PATHS = ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/proc/kpagecount', '/proc/kpageflags', '/proc/kpagecgroup'];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

/** The read-only base for a Debian host: /usr, the merged-/usr symlinks, a few /etc entries. */
export function debianBase(extraReadonly: string[] = []): Pick<SandboxPlan, 'readonlyBinds' | 'symlinks'> {
  const readonlyBinds: SandboxBind[] = [{ source: '/usr', target: '/usr' }];
  const symlinks: SandboxPlan['symlinks'] = [];
  for (const top of TOP_LEVEL_LINKS) {
    const st = lstatOrNull(top);
    if (st?.isSymbolicLink()) symlinks.push({ target: fs.readlinkSync(top), path: top });
    else if (st?.isDirectory()) readonlyBinds.push({ source: top, target: top });
  }
  for (const p of [...ETC_READONLY, ...extraReadonly]) {
    const st = lstatOrNull(p);
    if (st === null) continue;
    if (st.isSymbolicLink() && p !== '/etc/ssl/openssl.cnf') symlinks.push({ target: fs.readlinkSync(p), path: p });
    else readonlyBinds.push({ source: p, target: p });
  }
  // /etc/localtime is a symlink into /usr/share/zoneinfo: the link itself is enough.
  const localtime = lstatOrNull('/etc/localtime');
  if (localtime?.isSymbolicLink()) symlinks.push({ target: fs.readlinkSync('/etc/localtime'), path: '/etc/localtime' });
  for (const entry of fs.readdirSync('/etc')) {
    // Debian's Python reads /etc/python3.X (sitecustomize); nothing secret lives there.
    if (/^python3(\.\d+)?$/.test(entry)) readonlyBinds.push({ source: `/etc/${entry}`, target: `/etc/${entry}` });
  }
  return { readonlyBinds, symlinks };
}

/** A minimal /etc for the sandbox: its own user, localhost, and DNS only when it has a network. */
export function generatedEtc(hostname: string, resolvConf: string): SandboxPlan['files'] {
  return [
    {
      path: '/etc/passwd',
      content: `root:x:0:0:root:/root:/usr/sbin/nologin\n${SANDBOX_USER}:x:${SANDBOX_UID}:${SANDBOX_GID}:hearth function:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    },
    { path: '/etc/group', content: `root:x:0:\n${SANDBOX_USER}:x:${SANDBOX_GID}:\nnogroup:x:65534:\n` },
    { path: '/etc/hosts', content: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n` },
    { path: '/etc/hostname', content: `${hostname}\n` },
    { path: '/etc/resolv.conf', content: resolvConf },
    { path: '/etc/nsswitch.conf', content: 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' },
  ];
}

/** The full plan for one sandbox, with hearth's defaults. */
export function makeSandboxPlan(input: SandboxPlanInput): SandboxPlan {
  const hostname = input.hostname ?? 'hearth';
  const netnsPath = input.netnsPath ?? null;
  const resolvConf = input.resolvConf ?? (netnsPath !== null && fs.existsSync('/etc/resolv.conf') ? fs.readFileSync('/etc/resolv.conf', 'utf8') : '');
  return {
    statusFd: input.statusFd ?? 4,
    keepFds: [0, 1, 2, ...(input.keepFds ?? [3])],
    hostname,
    netnsPath,
    cgroup: input.cgroup ?? null,
    ids: { uid: input.ids.uid, gid: input.ids.gid, count: input.ids.count ?? ID_RANGE_SIZE },
    uid: SANDBOX_UID,
    gid: SANDBOX_GID,
    rootfsDir: input.rootfsDir ?? DEFAULT_ROOTFS_DIR,
    rootSizeBytes: 1 << 20,
    ...debianBase(input.extraReadonly),
    files: generatedEtc(hostname, resolvConf),
    code: { source: input.codeDir, target: SANDBOX_CODE_DIR },
    runtime: input.runtimeDir ? { source: input.runtimeDir, target: SANDBOX_RUNTIME_DIR } : null,
    tmp: input.tmp ?? { sizeBytes: 64 << 20 },
    devShmSizeBytes: 16 << 20,
    devices: DEVICES.filter((d) => fs.existsSync(`/dev/${d}`)),
    maskedPaths: MASKED_PATHS,
    readonlyPaths: READONLY_PATHS,
    rlimits: { core: { soft: 0, hard: 0 }, nofile: { soft: 4096, hard: 4096 }, ...input.rlimits },
    cwd: input.cwd ?? SANDBOX_CODE_DIR,
    seccomp: seccompRules(),
  };
}

// ---- the plan as arguments ---------------------------------------------------

function checkPath(what: string, p: string): string {
  if (!path.isAbsolute(p) || p.includes(':') || p.includes('\0') || p.split('/').some((c) => c === '..' || c === '.')) {
    throw new HearthError('HEARTH_E_INTERNAL', `sandbox plan: ${what} must be an absolute path without ':' or dot components: ${JSON.stringify(p)}`);
  }
  return p;
}

function checkFd(what: string, fd: number): string {
  if (!Number.isInteger(fd) || fd < 0) throw new HearthError('HEARTH_E_INTERNAL', `sandbox plan: ${what} must be a file descriptor: ${fd}`);
  return String(fd);
}

function checkId(what: string, id: number): string {
  if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new HearthError('HEARTH_E_INTERNAL', `sandbox plan: ${what} must be an id: ${id}`);
  return String(id);
}

/** The plan as hearth-enter's / enterSandbox's argument list (without a command). */
export function planToArgs(plan: SandboxPlan): string[] {
  const args: string[] = ['--status-fd', checkFd('statusFd', plan.statusFd)];
  const add = (option: string, value: string): void => {
    args.push(`--${option}`, value);
  };
  if (plan.timingsFd !== undefined) add('timings-fd', checkFd('timingsFd', plan.timingsFd));
  for (const fd of plan.keepFds) add('keep-fd', checkFd('keepFds', fd));
  add('hostname', plan.hostname);
  if (plan.netnsPath !== null) add('netns', checkPath('netnsPath', plan.netnsPath));
  if (plan.cgroup) {
    for (const file of plan.cgroup.procsFiles) add('cgroup-procs', checkPath('cgroup.procsFiles', file));
    if (plan.cgroup.v2Dir) add('cgroup2-dir', checkPath('cgroup.v2Dir', plan.cgroup.v2Dir));
  }
  add('uid-base', checkId('ids.uid', plan.ids.uid));
  add('gid-base', checkId('ids.gid', plan.ids.gid));
  add('id-count', checkId('ids.count', plan.ids.count));
  add('uid', checkId('uid', plan.uid));
  add('gid', checkId('gid', plan.gid));
  add('rootfs', checkPath('rootfsDir', plan.rootfsDir));
  add('root-size', String(plan.rootSizeBytes));
  for (const b of plan.readonlyBinds) add('ro-bind', `${checkPath('bind source', b.source)}:${checkPath('bind target', b.target)}`);
  for (const f of plan.files) add('file', `${checkPath('file path', f.path)}:${f.content}`);
  add('code', `${checkPath('code source', plan.code.source)}:${checkPath('code target', plan.code.target)}`);
  if (plan.runtime) add('runtime', `${checkPath('runtime source', plan.runtime.source)}:${checkPath('runtime target', plan.runtime.target)}`);
  if ('hostDir' in plan.tmp) add('tmp-dir', checkPath('tmp.hostDir', plan.tmp.hostDir));
  else add('tmp-size', String(plan.tmp.sizeBytes));
  add('dev-shm-size', String(plan.devShmSizeBytes));
  for (const d of plan.devices) add('device', d);
  for (const p of plan.maskedPaths) add('mask', checkPath('maskedPaths', p));
  for (const p of plan.readonlyPaths) add('read-only', checkPath('readonlyPaths', p));
  for (const [name, limit] of Object.entries(plan.rlimits)) {
    if (limit) add('rlimit', `${name}=${limit.soft}:${limit.hard}`);
  }
  for (const l of plan.symlinks) add('symlink', `${l.target}:${checkPath('symlink path', l.path)}`);
  add('cwd', checkPath('cwd', plan.cwd));
  for (const rule of plan.seccomp) add('seccomp', rule);
  if (plan.templateCaps) args.push('--template-caps');
  return args;
}

// ---- the status fd ---------------------------------------------------------------

export interface EnterStatus {
  /** The sandbox's first process (pid 1 inside), as the host sees it. */
  pid: number;
}

/**
 * Reads the status stream to its end: the supervisor announces the child's pid;
 * a failing step writes {step, errno, message}; EOF without a failure means the
 * command was exec'd (or, on the fork path, the sequence handed over).
 */
export function readEnterStatus(stream: Readable): Promise<EnterStatus> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    stream.once('error', reject);
    stream.once('end', () => {
      let pid: number | undefined;
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        let message: { step?: string; errno?: string; message?: string; pid?: number };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          reject(new SandboxEnterError('status', 'EPROTO', `unreadable status line: ${line}`));
          return;
        }
        if (message.step !== undefined) {
          reject(new SandboxEnterError(message.step, message.errno ?? 'EUNKNOWN', message.message ?? ''));
          return;
        }
        if (typeof message.pid === 'number') pid = message.pid;
      }
      if (pid === undefined) reject(new SandboxEnterError('status', 'ESRCH', 'the sandbox helper exited before it started the sandbox'));
      else resolve({ pid });
    });
  });
}

export interface StepTiming {
  step: string;
  /** Milliseconds from the start of the sequence to the end of this step. */
  atMs: number;
}

function readTimings(stream: Readable): Promise<StepTiming[]> {
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    stream.once('error', () => resolve([]));
    stream.once('end', () => {
      try {
        const parsed = JSON.parse(text.trim()) as { steps: Array<[string, number]> };
        resolve(parsed.steps.map(([step, ns]) => ({ step, atMs: ns / 1e6 })));
      } catch {
        resolve([]);
      }
    });
  });
}

// ---- the cold path: spawn through hearth-enter ----------------------------------

type StdioEntry = Exclude<StdioOptions, string>[number];

/** The environment when the caller gives none: never the agent's own (it may hold secrets). */
export const SANDBOX_DEFAULT_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };

export interface SpawnSandboxedOptions {
  /** The command's environment; default SANDBOX_DEFAULT_ENV. */
  env?: NodeJS.ProcessEnv;
  /** stdio for the sandbox's fds 0..n-1 (as for child_process.spawn); default ['ignore', 'pipe', 'pipe', 'pipe']. */
  stdio?: Exclude<StdioOptions, string>;
  /** Also collect the per-step timings. */
  timings?: boolean;
  /** The helper; default native/build/Release/hearth-enter. */
  enterBinary?: string;
}

export interface SandboxedProcess {
  /** The supervisor (hearth-enter): signals are forwarded, its exit status is the sandbox's. */
  child: ChildProcess;
  /** Resolves once the command was exec'd inside the sandbox; rejects with SandboxEnterError. */
  entered: Promise<EnterStatus>;
  /** Per-step timings (empty unless options.timings). */
  timings: Promise<StepTiming[]>;
}

/**
 * Starts `command` (absolute path first) inside the sandbox described by `plan`.
 * The status (and timings) fds are added after the given stdio; plan.statusFd,
 * plan.timingsFd and plan.keepFds are set to match.
 */
export function spawnSandboxed(plan: SandboxPlan, command: string[], options: SpawnSandboxedOptions = {}): SandboxedProcess {
  if (command.length === 0 || !path.isAbsolute(command[0]!)) throw new HearthError('HEARTH_E_INTERNAL', `spawnSandboxed: the command must start with an absolute path: ${JSON.stringify(command[0])}`);
  const stdio: StdioEntry[] = [...(options.stdio ?? ['ignore', 'pipe', 'pipe', 'pipe'])];
  const statusFd = stdio.length;
  stdio.push('pipe');
  const timingsFd = options.timings ? stdio.length : undefined;
  if (timingsFd !== undefined) stdio.push('pipe');
  fs.mkdirSync(plan.rootfsDir, { recursive: true, mode: 0o755 });
  // Only what the plan keeps survives, even if stdio hands the helper more.
  const keepFds = plan.keepFds.filter((fd) => fd < statusFd);
  const args = planToArgs({ ...plan, statusFd, timingsFd, keepFds });
  const child = spawn(options.enterBinary ?? hearthEnterPath(), [...args, '--', ...command], { env: options.env ?? SANDBOX_DEFAULT_ENV, stdio });
  const statusStream = child.stdio[statusFd] as Readable;
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  const entered = Promise.race([readEnterStatus(statusStream), spawnError]);
  entered.catch(() => undefined); // the caller decides; an unobserved rejection must not crash the agent
  const timings = timingsFd !== undefined ? readTimings(child.stdio[timingsFd] as Readable) : Promise.resolve([]);
  return { child, entered, timings };
}

// ---- the fork path: a forked Node child enters the sandbox itself ------------------

/**
 * Runs the sequence in this (forked, single-threaded) Node process, which must have
 * been started with --single-threaded (see native.ts forkable()). It becomes the
 * sandbox's supervisor and never returns; the call returns in the sandboxed child,
 * where process.pid is still the zygote's (use loadNative().getpid()).
 * Close the parent's JavaScript handles (sockets, servers) before calling it: every
 * fd not in plan.keepFds is released, and libuv aborts on a watched fd that vanished.
 */
export function enterSandbox(plan: SandboxPlan): void {
  assertEnterSandboxAllowed();
  fs.mkdirSync(plan.rootfsDir, { recursive: true, mode: 0o755 });
  loadNative().enterSandbox(planToArgs(plan));
  // In the sandboxed child. Node caches the working directory: refresh it.
  process.chdir(plan.cwd);
}
