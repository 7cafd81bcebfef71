// The systems compared: baselines and hearth configurations. Each is hearth's
// own server, scheduler and API configured by its ordinary knobs (keep-alive,
// fork paths, sandbox) or, for the container baseline, with `startersFor`
// replaced. hearth's systems name no start path: whatever paths hearth offers
// with a configuration (e.g. a Node.js zygote, sandboxed forks) show up in the
// results by themselves, reported per call by the server.
import { CrunStarter } from '../baselines/crun-starter.js';

export type SystemName = 'cold' | 'crun' | 'keepalive' | 'hearth-fork' | 'hearth';

export interface SystemSpec {
  name: SystemName;
  kind: 'baseline' | 'hearth';
  description: string;
  /** Config overrides for the server (see src/config.ts). */
  config: { forkPaths: boolean; keepAliveMs: number; sandbox: boolean; pythonPreload: string[]; memoryBudgetMB?: number; memorySampleMs: number; swapFile?: string; templateIdleMs?: number; memoryAccounting?: 'reserved' | 'measured' };
  /** Start new instances as crun containers instead of hearth's starters. */
  crun: boolean;
}

export interface SystemOptions {
  /** The scaled 10-minute keep-alive TTL in ms. */
  ttlMs: number;
  sandbox: boolean;
  pythonPreload: string[];
}

/** The swap file hearth's systems page templates out to. */
const SWAP_MB = 2048;

export const ALL_SYSTEMS: SystemName[] = ['cold', 'crun', 'keepalive', 'hearth-fork', 'hearth'];

export function systemSpec(name: SystemName, o: SystemOptions): SystemSpec {
  // Every system samples memory (its budget's input) once a second.
  const base = { sandbox: o.sandbox, pythonPreload: [] as string[], memorySampleMs: 1000 };
  // hearth's image tier pages templates out to a swap file in the run's data dir (removed with it), and
  // demotes templates idle for the scaled keep-alive TTL; the baselines have no templates to page out.
  const tier = { swapFile: `swap/hearth.swap,${SWAP_MB}`, templateIdleMs: o.ttlMs };
  switch (name) {
    case 'cold':
      return { name, kind: 'baseline', crun: false, description: 'cold: a fresh runtime process for every new instance, no keep-alive (hearth cold starter, fork paths off)', config: { ...base, forkPaths: false, keepAliveMs: 0 } };
    case 'crun':
      return { name, kind: 'baseline', crun: true, description: 'crun: a crun container per new instance, no keep-alive (bench/baselines/crun-starter.ts behind hearth\'s scheduler)', config: { ...base, forkPaths: false, keepAliveMs: 0 } };
    case 'keepalive':
      return { name, kind: 'baseline', crun: false, description: `keep-alive: fixed TTL of 10 workload-minutes (${o.ttlMs / 1000} s), LRU eviction under the memory budget, cold start on a miss (OpenWhisk/faasd policy)`, config: { ...base, forkPaths: false, keepAliveMs: o.ttlMs } };
    case 'hearth-fork':
      return { name, kind: 'hearth', crun: false, description: `hearth, fork paths only: zygote → template (repurpose) → fork, or restore of a paged-out template, for every new instance; no keep-alive`, config: { ...base, ...tier, forkPaths: true, keepAliveMs: 0, pythonPreload: o.pythonPreload } };
    case 'hearth':
      return { name, kind: 'hearth', crun: false, description: `hearth, all paths: warm (keep-alive ${o.ttlMs / 1000} s) → fork → restore (templates paged out to a ${SWAP_MB} MB swap file under pressure or after ${o.ttlMs / 1000} s idle) → repurpose → cold`, config: { ...base, ...tier, forkPaths: true, keepAliveMs: o.ttlMs, pythonPreload: o.pythonPreload } };
  }
}

/** Why a system cannot run on this host, or undefined. */
export function unavailable(spec: SystemSpec): string | undefined {
  if (spec.crun && !CrunStarter.available()) return 'crun needs root and /usr/bin/crun';
  if (spec.config.sandbox && process.getuid?.() !== 0) return 'sandboxes need root';
  return undefined;
}
