// Swap for the paged-out image tier: MADV_PAGEOUT moves a template's anonymous
// pages to swap, so without swap only its file-backed pages can go. hearth never
// changes the host's settings: it uses swap that is already active, or — only
// when configured (HEARTH_SWAP_FILE=path,sizeMB) — creates a swap file under its
// data directory, mkswap + swapon, and swapoff + removes it at shutdown.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { HearthError } from '../errors.js';

const run = promisify(execFile);

export interface ActiveSwap {
  filename: string;
  type: string;
  sizeKB: number;
  usedKB: number;
  priority: number;
}

/** The swap areas the kernel uses now (/proc/swaps). */
export function activeSwaps(): ActiveSwap[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/swaps', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [filename, type, size, used, priority] = line.trim().split(/\s+/);
      // /proc/swaps escapes spaces etc. as \040.
      return { filename: filename!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), type: type!, sizeKB: Number(size), usedKB: Number(used), priority: Number(priority) };
    });
}

export interface SwapArea {
  /** The swap file hearth made, or the first active area it found. */
  path: string;
  sizeKB: number;
  /** True when hearth created it (and removes it at close). */
  owned: boolean;
  close(): Promise<void>;
}

/** Parses HEARTH_SWAP_FILE: 'path,sizeMB' or 'sizeMB' (then <dataDir>/swap/hearth.swap). The path must be inside dataDir. */
export function parseSwapSpec(spec: string, dataDir: string): { file: string; sizeMB: number } {
  const parts = spec.split(',').map((p) => p.trim());
  const [rawPath, rawSize] = parts.length === 1 ? [path.join('swap', 'hearth.swap'), parts[0]!] : [parts[0]!, parts[1]!];
  const sizeMB = Number(rawSize);
  if (parts.length > 2 || !Number.isInteger(sizeMB) || sizeMB < 16) {
    throw new HearthError('HEARTH_E_BAD_REQUEST', `HEARTH_SWAP_FILE must be 'path,sizeMB' (or 'sizeMB') with sizeMB ≥ 16, got '${spec}'`);
  }
  const root = path.resolve(dataDir);
  const file = path.resolve(root, rawPath);
  if (!file.startsWith(root + path.sep)) {
    throw new HearthError('HEARTH_E_BAD_REQUEST', `HEARTH_SWAP_FILE: the swap file must be inside the data directory ${root}, got ${file}`);
  }
  return { file, sizeMB };
}

async function removeSwapFile(file: string): Promise<void> {
  if (activeSwaps().some((s) => s.filename === file)) await run('swapoff', [file]);
  fs.rmSync(file, { force: true });
}

/**
 * Creates `file` (sizeMB), makes it swap and enables it. A leftover from a crashed
 * run (same path) is switched off and replaced. Throws when the kernel refuses.
 */
export async function createSwapFile(file: string, sizeMB: number): Promise<SwapArea> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  await removeSwapFile(file);
  try {
    const fd = fs.openSync(file, 'wx', 0o600);
    fs.closeSync(fd);
    try {
      await run('fallocate', ['-l', `${sizeMB}M`, file]);
    } catch {
      // Filesystems without fallocate (or where swapon refuses its holes): write zeros.
      await run('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${sizeMB}`, 'status=none']);
    }
    await run('mkswap', [file]);
    await run('swapon', [file]);
  } catch (error) {
    fs.rmSync(file, { force: true });
    const e = error as Error & { stderr?: string };
    throw new HearthError('HEARTH_E_HOST_UNSUPPORTED', `cannot set up swap file ${file}: ${(e.stderr || e.message).trim()}`, { path: file });
  }
  let closed = false;
  return {
    path: file,
    sizeKB: sizeMB * 1024,
    owned: true,
    close: async () => {
      if (closed) return;
      closed = true;
      await removeSwapFile(file);
    },
  };
}

/**
 * hearth's swap: the configured swap file (created now), else the active swap the
 * host already has (used, never changed), else undefined (paging out then frees
 * only file-backed pages).
 */
export async function setUpSwap(options: { spec: string | undefined; dataDir: string; log: Logger }): Promise<SwapArea | undefined> {
  if (options.spec) {
    const { file, sizeMB } = parseSwapSpec(options.spec, options.dataDir);
    const area = await createSwapFile(file, sizeMB);
    options.log.info({ file, sizeMB }, 'swap file enabled (removed at shutdown)');
    return area;
  }
  const active = activeSwaps()[0];
  if (!active) return undefined;
  options.log.info({ swap: active.filename, sizeKB: active.sizeKB }, 'using the host swap that is already active');
  return { path: active.filename, sizeKB: active.sizeKB, owned: false, close: async () => undefined };
}
