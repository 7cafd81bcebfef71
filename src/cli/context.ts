// Options shared by every CLI command.
import type { Command } from 'commander';
import { HearthClient } from './client.js';

export interface GlobalOptions {
  url: string;
  token?: string;
  debug?: boolean;
}

export function clientFor(command: Command): HearthClient {
  const options = command.optsWithGlobals<GlobalOptions>();
  return new HearthClient({ url: options.url, ...(options.token ? { token: options.token } : {}) });
}

/** Writes a line to stdout (results) — progress and timings go to stderr. */
export function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function info(text: string): void {
  process.stderr.write(`${text}\n`);
}
