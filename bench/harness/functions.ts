// The benchmark functions (bench/functions/*): FunctionBench/SeBS workloads as
// TrEnv evaluates them, each an ordinary hearth function directory.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config.js';

export const FUNCTIONS_DIR = path.join(REPO_ROOT, 'bench', 'functions');

export interface BenchFunction {
  name: string;
  runtime: 'python3.11' | 'nodejs20';
  dir: string;
  /** The event sent with every call. */
  event: Record<string, unknown>;
  /** TrEnv's short name for the same workload (Table 2), where there is one. */
  trenv?: string;
  /** Imports torch: left out of the quick and smoke sets. */
  heavy: boolean;
}

interface CatalogEntry {
  event: Record<string, unknown>;
  trenv?: string;
  heavy?: boolean;
}

const CATALOG: Record<string, CatalogEntry> = {
  'py-dynamic-html': { event: { rows: 1000 }, trenv: 'DH' },
  'py-json': { event: { rounds: 3 }, trenv: 'JS' },
  'py-pagerank': { event: { size: 2000 }, trenv: 'PR' },
  'py-image': { event: {}, trenv: 'IP' },
  'py-image-recognition': { event: { seed: 1 }, trenv: 'IR', heavy: true },
  'py-video': { event: {}, trenv: 'VP' },
  'py-chameleon': { event: { width: 20, height: 500 }, trenv: 'CH' },
  'node-compression': { event: { bytes: 262144 } },
  'node-json': { event: { rounds: 3 }, trenv: 'JJS' },
  'node-image': { event: {}, trenv: 'IFR' },
  'node-dynamic-html': { event: { rows: 1000 } },
};

/** Every function in bench/functions/, in catalog order; a directory not in the catalog gets an empty event. */
export function allFunctions(): BenchFunction[] {
  const names = fs
    .readdirSync(FUNCTIONS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(FUNCTIONS_DIR, e.name, 'hearth.json')))
    .map((e) => e.name);
  const order = Object.keys(CATALOG);
  names.sort((a, b) => (order.indexOf(a) === -1 ? 1e9 : order.indexOf(a)) - (order.indexOf(b) === -1 ? 1e9 : order.indexOf(b)) || a.localeCompare(b));
  return names.map((name) => {
    const dir = path.join(FUNCTIONS_DIR, name);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'hearth.json'), 'utf8')) as { name: string; runtime: BenchFunction['runtime'] };
    const entry = CATALOG[name] ?? { event: {} };
    return { name: manifest.name, runtime: manifest.runtime, dir, event: entry.event, ...(entry.trenv ? { trenv: entry.trenv } : {}), heavy: entry.heavy ?? false };
  });
}

/** Checks that a function's dependencies are present (node_modules installed, Python modules importable is checked by the warm-up call). */
export function missingDependencies(fn: BenchFunction): string | undefined {
  const pkg = path.join(fn.dir, 'package.json');
  if (!fs.existsSync(pkg)) return undefined;
  const deps = Object.keys((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {});
  const missing = deps.filter((d) => !fs.existsSync(path.join(fn.dir, 'node_modules', d)));
  return missing.length ? `npm dependencies not installed (${missing.join(', ')}): run npm --prefix ${path.relative(REPO_ROOT, fn.dir)} ci` : undefined;
}
