// The on-disk record of a paged-out template (an "image"): which function version
// and runtime it is, which process holds it, and the working set to prefetch when
// it is restored. The memory itself is in swap (src/memory/pageout.ts); this file
// is what says that memory is still the right one. Every record carries a SHA-256
// of its body: a restore reads it back, and a record that is missing, truncated,
// corrupt, or of another function version / runtime version / process is refused
// (ImageRecordError), so the caller drops the image and starts cold instead.
//
//   <dataDir>/images/<function>@<version>.json
//   { "format": "hearth-image/1", "sha256": "<hex of body>", "body": { ... } }
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { WorkingSet } from './pageout.js';

export const IMAGE_FORMAT = 'hearth-image/1';

const BodySchema = z.object({
  key: z.string().min(1),
  name: z.string().min(1),
  version: z.number().int().positive(),
  runtime: z.string().min(1),
  runtimeVersion: z.string().min(1),
  codeSha256: z.string().min(1),
  /** The template process (host pid) and its start time in clock ticks (/proc/<pid>/stat field 22): a reused pid is another process. */
  pid: z.number().int().positive(),
  pidStartTicks: z.string().regex(/^\d+$/),
  demotedAt: z.number(),
  workingSet: z
    .object({
      ranges: z.array(z.number().int().nonnegative()),
      pages: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
    })
    .refine((ws) => ws.ranges.length % 2 === 0, 'ranges are [start, length] pairs')
    .optional(),
});

export type ImageRecord = z.infer<typeof BodySchema>;

const FileSchema = z.object({ format: z.literal(IMAGE_FORMAT), sha256: z.string().regex(/^[0-9a-f]{64}$/), body: z.unknown() });

export class ImageRecordError extends Error {
  constructor(
    readonly file: string,
    readonly reason: 'missing' | 'corrupt' | 'stale',
    detail: string,
  ) {
    super(`image ${path.basename(file)}: ${reason}: ${detail}`);
  }
}

function digest(bodyJson: string): string {
  return crypto.createHash('sha256').update(bodyJson).digest('hex');
}

/** /proc/<pid>/stat's starttime (field 22), or undefined when the process is gone. */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class ImageStore {
  constructor(readonly dir: string) {}

  fileFor(name: string, version: number): string {
    return path.join(this.dir, `${name}@${version}.json`);
  }

  /** Writes the record atomically (temp file, fsync, rename). */
  write(record: ImageRecord): string {
    const body = BodySchema.parse(record);
    const bodyJson = JSON.stringify(body);
    const file = this.fileFor(body.name, body.version);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, `{"format":${JSON.stringify(IMAGE_FORMAT)},"sha256":"${digest(bodyJson)}","body":${bodyJson}}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return file;
  }

  /**
   * Reads and checks the record of `name@version`: its checksum, and that it is the
   * image `expect` describes (same key, i.e. code and runtime version; same live process).
   */
  read(name: string, version: number, expect: { key: string; pid: number }): ImageRecord {
    const file = this.fileFor(name, version);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new ImageRecordError(file, 'missing', (error as NodeJS.ErrnoException).code ?? String(error));
    }
    let outer: z.infer<typeof FileSchema>;
    try {
      outer = FileSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new ImageRecordError(file, 'corrupt', `not a ${IMAGE_FORMAT} record (${text.length} bytes): ${(error as Error).message.split('\n')[0]}`);
    }
    const bodyJson = JSON.stringify(outer.body);
    if (digest(bodyJson) !== outer.sha256) throw new ImageRecordError(file, 'corrupt', 'checksum mismatch');
    const parsed = BodySchema.safeParse(outer.body);
    if (!parsed.success) throw new ImageRecordError(file, 'corrupt', parsed.error.issues[0]?.message ?? 'invalid body');
    const body = parsed.data;
    if (body.key !== expect.key) throw new ImageRecordError(file, 'stale', `made for ${body.key}, wanted ${expect.key} (redeployed or runtime upgraded)`);
    if (body.pid !== expect.pid || processStartTicks(body.pid) !== body.pidStartTicks) throw new ImageRecordError(file, 'stale', `its template process ${body.pid} is gone`);
    return body;
  }

  /** Bytes on disk of the record (0 when absent). */
  sizeBytes(name: string, version: number): number {
    try {
      return fs.statSync(this.fileFor(name, version)).size;
    } catch {
      return 0;
    }
  }

  remove(name: string, version: number): void {
    fs.rmSync(this.fileFor(name, version), { force: true });
  }

  /** Removes every record (at start: the processes of a previous hearth's images are gone). */
  clear(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export type { WorkingSet };
