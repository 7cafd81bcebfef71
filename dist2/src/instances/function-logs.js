// Per-function output of instances: appended to <data>/logs/<function>.log (rotated),
// readable as a tail and followable live.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
const ROTATE_BYTES = 8 * 1024 * 1024;
export class FunctionLogs {
    dir;
    files = new Map();
    events = new EventEmitter();
    constructor(dir) {
        this.dir = dir;
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        this.events.setMaxListeners(0);
    }
    fileOf(fn) {
        return path.join(this.dir, `${fn}.log`);
    }
    open(fn) {
        let file = this.files.get(fn);
        if (!file) {
            const p = this.fileOf(fn);
            const bytes = fs.existsSync(p) ? fs.statSync(p).size : 0;
            file = { stream: fs.createWriteStream(p, { flags: 'a', mode: 0o600 }), bytes };
            this.files.set(fn, file);
        }
        return file;
    }
    /** Appends one line (without trailing newline) to `fn`'s log. */
    append(fn, requestId, stream, text) {
        const line = `${new Date().toISOString()}\t${requestId ?? '-'}\t${stream}\t${text}\n`;
        let file = this.open(fn);
        if (file.bytes + line.length > ROTATE_BYTES) {
            file.stream.end();
            this.files.delete(fn);
            fs.renameSync(this.fileOf(fn), `${this.fileOf(fn)}.1`);
            file = this.open(fn);
        }
        file.stream.write(line);
        file.bytes += Buffer.byteLength(line);
        this.events.emit(fn, line);
    }
    /** The last `lines` lines of `fn`'s log (current file, then the rotated one if needed). */
    async tail(fn, lines) {
        await this.flush(fn);
        const read = (p) => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8').split('\n').filter((l) => l !== '') : []);
        let result = read(this.fileOf(fn));
        if (result.length < lines)
            result = [...read(`${this.fileOf(fn)}.1`), ...result];
        return result.slice(-lines);
    }
    /** Calls `onLine` with every new line of `fn`'s log until the returned function is called. */
    follow(fn, onLine) {
        this.events.on(fn, onLine);
        return () => this.events.off(fn, onLine);
    }
    flush(fn) {
        const file = this.files.get(fn);
        if (!file || file.stream.writableLength === 0)
            return Promise.resolve();
        return new Promise((resolve) => file.stream.write('', () => resolve()));
    }
    /** Deletes `fn`'s logs (when the function is deleted). */
    remove(fn) {
        const file = this.files.get(fn);
        file?.stream.end();
        this.files.delete(fn);
        fs.rmSync(this.fileOf(fn), { force: true });
        fs.rmSync(`${this.fileOf(fn)}.1`, { force: true });
    }
    async close() {
        await Promise.all([...this.files.values()].map((f) => new Promise((resolve) => f.stream.end(() => resolve()))));
        this.files.clear();
    }
}
//# sourceMappingURL=function-logs.js.map