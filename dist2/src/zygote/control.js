// The agent's end of a zygote's or template's control socket: requests go out
// with file descriptors (SCM_RIGHTS, through the native addon), replies and
// reports come back as frames (docs/protocol.md, "Zygotes and templates").
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { FrameDecoder, encodeFrame } from '../instances/protocol.js';
export class ControlChannel extends EventEmitter {
    fd;
    native;
    socket;
    waiting = new Map();
    closed = false;
    /** `fd` is the agent's end of a stream socketpair; the channel owns it from now on. */
    constructor(fd, native) {
        super();
        this.fd = fd;
        this.native = native;
        this.socket = new net.Socket({ fd, readable: true, writable: false });
        const decoder = new FrameDecoder();
        this.socket.on('data', (chunk) => {
            let messages;
            try {
                messages = decoder.push(chunk);
            }
            catch (error) {
                this.close(error);
                return;
            }
            for (const message of messages)
                this.onMessage(message);
        });
        this.socket.on('error', (error) => this.close(error));
        this.socket.on('close', () => this.close(new Error('control channel closed')));
    }
    onMessage(message) {
        const waiter = message.id !== undefined ? this.waiting.get(message.id) : undefined;
        if (waiter) {
            this.waiting.delete(message.id);
            if (message.t === 'error')
                waiter.reject(new Error(String(message.message ?? 'request failed')));
            else
                waiter.resolve(message);
            return;
        }
        this.emit('message', message);
    }
    /** Sends a request with `fds` (closed here once sent) and waits for the reply with the same id. */
    request(message, fds, timeoutMs) {
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
            }
            catch (error) {
                this.waiting.delete(message.id);
                clearTimeout(timer);
                reject(error);
            }
            finally {
                this.native.closeFds(fds);
            }
        });
    }
    get isClosed() {
        return this.closed;
    }
    close(reason = new Error('control channel closed')) {
        if (this.closed)
            return;
        this.closed = true;
        for (const waiter of this.waiting.values())
            waiter.reject(reason);
        this.waiting.clear();
        this.socket.destroy();
        this.emit('close', reason);
    }
}
//# sourceMappingURL=control.js.map