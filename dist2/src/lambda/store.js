// State of the Lambda-compatible API in SQLite (<data>/lambda.db, WAL, synchronous=FULL):
// Lambda-only function attributes (role, tags, zip size) and the durable queue of
// accepted asynchronous (Event) invocations.
import path from 'node:path';
import Database from 'better-sqlite3';
const MIGRATIONS = [
    `CREATE TABLE function_meta (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL,
     tags TEXT NOT NULL,
     code_sha256 TEXT NOT NULL,
     code_size INTEGER NOT NULL
   );
   CREATE TABLE async_events (
     id TEXT PRIMARY KEY,
     function TEXT NOT NULL,
     payload TEXT NOT NULL,
     accepted_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     throttles INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL
   );
   CREATE INDEX async_events_due ON async_events (next_attempt_at);
   CREATE INDEX async_events_function ON async_events (function);`,
];
function toEvent(row) {
    return { id: row.id, function: row.function, payload: row.payload, acceptedAt: row.accepted_at, attempts: row.attempts, throttles: row.throttles, nextAttemptAt: row.next_attempt_at };
}
export class LambdaStore {
    db;
    open = true;
    constructor(dataDir) {
        this.db = new Database(path.join(dataDir, 'lambda.db'));
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = FULL');
        const current = this.db.pragma('user_version', { simple: true });
        for (let i = current; i < MIGRATIONS.length; i++) {
            this.db.transaction(() => {
                this.db.exec(MIGRATIONS[i]);
                this.db.pragma(`user_version = ${i + 1}`);
            })();
        }
    }
    get isOpen() {
        return this.open;
    }
    getMeta(name) {
        const row = this.db.prepare('SELECT * FROM function_meta WHERE name = ?').get(name);
        return row ? { name: row.name, role: row.role, tags: JSON.parse(row.tags), codeSha256: row.code_sha256, codeSize: row.code_size } : undefined;
    }
    putMeta(meta) {
        this.db
            .prepare('INSERT INTO function_meta (name, role, tags, code_sha256, code_size) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET role = excluded.role, tags = excluded.tags, code_sha256 = excluded.code_sha256, code_size = excluded.code_size')
            .run(meta.name, meta.role, JSON.stringify(meta.tags), meta.codeSha256, meta.codeSize);
    }
    deleteMeta(name) {
        this.db.prepare('DELETE FROM function_meta WHERE name = ?').run(name);
    }
    /** Stores an accepted event; durable (fsync'd) when this returns. */
    addEvent(event) {
        this.db.prepare('INSERT INTO async_events (id, function, payload, accepted_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)').run(event.id, event.function, event.payload, event.acceptedAt, event.acceptedAt);
    }
    /** Events due at `now`, oldest first, excluding the ids in `exclude`. */
    dueEvents(now, exclude, limit) {
        return this.db
            .prepare('SELECT * FROM async_events WHERE next_attempt_at <= ? AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY next_attempt_at, accepted_at LIMIT ?')
            .all(now, JSON.stringify(exclude), limit).map(toEvent);
    }
    /** The earliest attempt time after `now` (events not yet due), if any. */
    nextDueAfter(now) {
        const row = this.db.prepare('SELECT MIN(next_attempt_at) AS t FROM async_events WHERE next_attempt_at > ?').get(now);
        return row.t ?? undefined;
    }
    reschedule(id, fields) {
        this.db.prepare('UPDATE async_events SET attempts = ?, throttles = ?, next_attempt_at = ? WHERE id = ?').run(fields.attempts, fields.throttles, fields.nextAttemptAt, id);
    }
    deleteEvent(id) {
        this.db.prepare('DELETE FROM async_events WHERE id = ?').run(id);
    }
    /** Drops every queued event of `name` (the function was deleted); returns how many. */
    deleteEventsOf(name) {
        return this.db.prepare('DELETE FROM async_events WHERE function = ?').run(name).changes;
    }
    pendingCount() {
        return this.db.prepare('SELECT COUNT(*) AS n FROM async_events').get().n;
    }
    close() {
        if (!this.open)
            return;
        this.open = false;
        this.db.close();
    }
}
//# sourceMappingURL=store.js.map