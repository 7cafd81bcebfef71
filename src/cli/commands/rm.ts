// hearth rm <fn>
import type { Command } from 'commander';
import { clientFor, out } from '../context.js';

export function registerRm(program: Command): void {
  program
    .command('rm')
    .description('delete a function, its versions, instances and logs')
    .argument('<function...>', 'function names')
    .action(async (names: string[], _options: unknown, command: Command) => {
      for (const name of names) {
        await clientFor(command).json('DELETE', `/v1/functions/${encodeURIComponent(name)}`);
        out(`deleted ${name}`);
      }
    });
}
