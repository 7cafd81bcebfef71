export const SENTINEL_PREFIX = '\u0000HEARTH-END ';
const MAX_LINE = 64 * 1024;
export function captureOutput(stream, sink) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
        pending += chunk;
        let newline;
        while ((newline = pending.indexOf('\n')) !== -1) {
            const raw = pending.slice(0, newline);
            pending = pending.slice(newline + 1);
            const at = raw.indexOf(SENTINEL_PREFIX);
            if (at === -1) {
                sink.line(raw);
                continue;
            }
            // Output without a trailing newline is followed directly by the sentinel.
            if (at > 0)
                sink.line(raw.slice(0, at));
            sink.end(raw.slice(at + SENTINEL_PREFIX.length));
        }
        if (pending.length > MAX_LINE && !pending.includes('\u0000')) {
            sink.line(pending);
            pending = '';
        }
    });
    stream.on('end', () => {
        if (pending !== '')
            sink.line(pending);
    });
}
//# sourceMappingURL=output-capture.js.map