// The agent's end of a zygote's or template's control socket: requests go out
// with file descriptors (SCM_RIGHTS, through the native addon), replies and
// reports come back as frames (docs/protocol.md, "Zygotes and templates").
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { FrameDecoder, encodeFrame } from '../instances/protocol.js';
import type { FdPassing } from './fd-passing.js';

export interface ControlMessage {
  t: string;
  id?: string;
  [key: string]: unknown;
}

export class ControlChannel extends EventEmitter {
  private readonly socket: net.Socket;
  private readonly waiting = new Map<string, { resolve(m: ControlMessage): void; reject(e: Error): void }>();
  private closed = false;

  /** `fd` is the agent's end of a stream socketpair; the channel owns it from now on. */
  constructor(private readonly fd: number, private readonly native: FdPassing) {
    super();
    this.socket = new net.Socket({ fd, readable: true, writable: false });
    const decoder = new FrameDecoder();
    this.socket.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        this.close(error as Error);
        return;
      }
      for (const message of messages) this.onMessage(message as ControlMessage);
    });
    this.socket.on('error', (error) => this.close(error));
    this.socket.on('close', () => this.close(new Error('control channel closed')));
  }

  private onMessage(message: ControlMessage): void {
    const waiter = message.id !== undefined ? this.waiting.get(message.id) : undefined;
    if (waiter) {
      this.waiting.delete(message.id!);
      if (message.t === 'error') waiter.reject(new Error(String(message.message ?? 'request failed')));
      else waiter.resolve(message);
      return;
    }
    this.emit('message', message);
  }

  /** Sends a request with `fds` (closed here once sent) and waits for the reply with the same id. */
  request(message: ControlMessage & { id: string }, fds: number[], timeoutMs: number): Promise<ControlMessage> {
    if (this.closed) {
      this.native.closeFds(fds);
      return Promise.reject(new Error('control channel closed'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(message.id);
        reject(new Error(`no reply to ${message.t} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(message.id, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      try {
        this.native.sendFds(this.fd, encodeFrame(message), fds);
      } catch (error) {
        this.waiting.delete(message.id);
        clearTimeout(timer);
        reject(error as Error);
      } finally {
        this.native.closeFds(fds);
      }
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(reason = new Error('control channel closed')): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiting.values()) waiter.reject(reason);
    this.waiting.clear();
    this.socket.destroy();
    this.emit('close', reason);
  }
}
