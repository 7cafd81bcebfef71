// Framing and message types of the instance protocol (docs/protocol.md).
// A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
import type { Duplex } from 'node:stream';

export const MAX_FRAME_BYTES = 32 * 1024 * 1024;

export interface LambdaError {
  errorType: string;
  errorMessage: string;
  stackTrace?: string[];
}

export interface InvokeContext {
  functionName: string;
  functionVersion: string;
  memoryLimitMB: number;
  invokedFunctionArn: string;
  logGroupName: string;
  logStreamName: string;
}

export type AgentMessage = {
  t: 'invoke';
  id: string;
  event: string;
  deadline: number;
  context: InvokeContext;
};

export type InstanceMessage =
  | { t: 'ready'; pid: number; initMs: number }
  | { t: 'init_error'; error: LambdaError }
  | { t: 'result'; id: string; ok: true; payload: string; execMs: number; startedAt: number; exiting?: boolean }
  | { t: 'result'; id: string; ok: false; error: LambdaError; execMs: number; startedAt: number; exiting?: boolean };

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > MAX_FRAME_BYTES) throw new Error(`frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** Incremental decoder: feed it chunks, it returns the complete messages so far. */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): unknown[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const messages: unknown[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) throw new Error(`frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`);
      if (this.buffered.length < 4 + length) break;
      const body = this.buffered.subarray(4, 4 + length);
      this.buffered = this.buffered.subarray(4 + length);
      messages.push(JSON.parse(body.toString('utf8')));
    }
    return messages;
  }
}

/** Reads frames from a stream and hands each decoded message to `onMessage`. */
export function readFrames(stream: Duplex, onMessage: (message: unknown) => void, onError: (error: Error) => void): void {
  const decoder = new FrameDecoder();
  stream.on('data', (chunk: Buffer) => {
    let messages: unknown[];
    try {
      messages = decoder.push(chunk);
    } catch (error) {
      onError(error as Error);
      stream.destroy();
      return;
    }
    for (const message of messages) onMessage(message);
  });
}
