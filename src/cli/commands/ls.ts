// hearth ls
import type { Command } from 'commander';
import { clientFor, out } from '../context.js';

interface ListBody {
  functions: Array<{ name: string; version: number; runtime: string; memoryMB: number; handler: string; instances: { idle: number; busy: number; queued: number }; memory: { pssKB: number; ussKB: number; templatePssKB?: number; totalPssKB?: number }; tier?: string; diskBytes?: number }>;
}

interface NodeBody {
  memory: { budgetMB: number; usedMB?: number; totals: Record<'instances' | 'templates' | 'zygotes' | 'agent', { count: number; pssKB: number }> };
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list functions with their instances and memory (PSS/USS of instances, PSS of templates) and the node totals')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const body = await clientFor(command).json<ListBody>('GET', '/v1/functions');
      if (options.json) return out(JSON.stringify(body, null, 2));
      if (body.functions.length === 0) return out('no functions deployed');
      const mb = (kb: number): string => `${(kb / 1024).toFixed(1)}MB`;
      out(
        formatTable([
          ['NAME', 'VERSION', 'RUNTIME', 'HANDLER', 'MEMORY', 'TIER', 'IDLE', 'BUSY', 'QUEUED', 'PSS', 'USS', 'TEMPLATE-PSS', 'IMAGE-DISK'],
          ...body.functions.map((f) => [f.name, String(f.version), f.runtime, f.handler, `${f.memoryMB}MB`, f.tier ?? '-', String(f.instances.idle), String(f.instances.busy), String(f.instances.queued), mb(f.memory.pssKB), mb(f.memory.ussKB), mb(f.memory.templatePssKB ?? 0), mb((f.diskBytes ?? 0) / 1024)]),
        ]),
      );
      // Node totals (older servers have no /v1/node: then the table is all there is).
      const node = await clientFor(command)
        .json<NodeBody>('GET', '/v1/node')
        .catch(() => undefined);
      if (node) {
        const t = node.memory.totals;
        out(
          `node PSS: instances ${mb(t.instances.pssKB)} (${t.instances.count}), templates ${mb(t.templates.pssKB)} (${t.templates.count}), zygotes ${mb(t.zygotes.pssKB)} (${t.zygotes.count}), agent ${mb(t.agent.pssKB)}; budget ${(node.memory.usedMB ?? 0).toFixed(0)}/${node.memory.budgetMB}MB`,
        );
      }
    });
}
