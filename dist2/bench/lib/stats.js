// Shared bench helpers: percentiles, result files (JSON + Markdown table).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bench/results');
export function percentile(sorted, p) {
    if (sorted.length === 0)
        return NaN;
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank];
}
export function summarize(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
    return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, mean };
}
export function markdownTable(header, rows) {
    const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
    return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`)].join('\n');
}
export function machine() {
    return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), node: process.version };
}
/** Writes `<name>.json` and `<name>.md` into bench/results/. */
export function writeResults(name, json, markdown) {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
    fs.writeFileSync(path.join(RESULTS_DIR, `${name}.md`), `${markdown}\n`);
    process.stderr.write(`wrote bench/results/${name}.json and .md\n`);
}
//# sourceMappingURL=stats.js.map