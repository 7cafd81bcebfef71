export const MAX_FRAME_BYTES = 32 * 1024 * 1024;
export function encodeFrame(message) {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    if (body.length > MAX_FRAME_BYTES)
        throw new Error(`frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`);
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(body.length, 0);
    return Buffer.concat([header, body]);
}
/** Incremental decoder: feed it chunks, it returns the complete messages so far. */
export class FrameDecoder {
    buffered = Buffer.alloc(0);
    push(chunk) {
        this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
        const messages = [];
        while (this.buffered.length >= 4) {
            const length = this.buffered.readUInt32BE(0);
            if (length > MAX_FRAME_BYTES)
                throw new Error(`frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`);
            if (this.buffered.length < 4 + length)
                break;
            const body = this.buffered.subarray(4, 4 + length);
            this.buffered = this.buffered.subarray(4 + length);
            messages.push(JSON.parse(body.toString('utf8')));
        }
        return messages;
    }
}
/** Reads frames from a stream and hands each decoded message to `onMessage`. */
export function readFrames(stream, onMessage, onError) {
    const decoder = new FrameDecoder();
    stream.on('data', (chunk) => {
        let messages;
        try {
            messages = decoder.push(chunk);
        }
        catch (error) {
            onError(error);
            stream.destroy();
            return;
        }
        for (const message of messages)
            onMessage(message);
    });
}
//# sourceMappingURL=protocol.js.map