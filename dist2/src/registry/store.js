// Function metadata in SQLite. Code lives on disk; a version row points at its directory.
import Database from 'better-sqlite3';
const MIGRATIONS = [
    `CREATE TABLE functions (
     name TEXT PRIMARY KEY,
     latest_version INTEGER NOT NULL,
     next_version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE versions (
     name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
     version INTEGER NOT NULL,
     manifest TEXT NOT NULL,
     code_dir TEXT NOT NULL,
     code_sha256 TEXT NOT NULL,
     code_bytes INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (name, version)
   );`,
];
function toVersion(row) {
    return {
        name: row.name,
        version: row.version,
        manifest: JSON.parse(row.manifest),
        codeDir: row.code_dir,
        codeSha256: row.code_sha256,
        codeBytes: row.code_bytes,
        createdAt: row.created_at,
    };
}
export class RegistryStore {
    db;
    constructor(file) {
        this.db = new Database(file);
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = FULL');
        this.db.pragma('foreign_keys = ON');
        this.migrate();
    }
    migrate() {
        const current = this.db.pragma('user_version', { simple: true });
        for (let i = current; i < MIGRATIONS.length; i++) {
            this.db.transaction(() => {
                this.db.exec(MIGRATIONS[i]);
                this.db.pragma(`user_version = ${i + 1}`);
            })();
        }
    }
    /** Reserves the next version number for `name` (numbers are never reused, even after a failed deploy). */
    nextVersion(name) {
        const row = this.db.prepare('SELECT next_version FROM functions WHERE name = ?').get(name);
        return row?.next_version ?? 1;
    }
    /** Records a new version and makes it the latest, in one transaction. Returns versions pruned beyond `keep`. */
    addVersion(version, keep) {
        const now = new Date().toISOString();
        return this.db.transaction(() => {
            const existing = this.db.prepare('SELECT next_version FROM functions WHERE name = ?').get(version.name);
            if (existing && existing.next_version > version.version) {
                throw new Error(`version ${version.version} of ${version.name} is stale (next is ${existing.next_version})`);
            }
            if (existing) {
                this.db.prepare('UPDATE functions SET latest_version = ?, next_version = ?, updated_at = ? WHERE name = ?').run(version.version, version.version + 1, now, version.name);
            }
            else {
                this.db.prepare('INSERT INTO functions (name, latest_version, next_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(version.name, version.version, version.version + 1, now, now);
            }
            this.db
                .prepare('INSERT INTO versions (name, version, manifest, code_dir, code_sha256, code_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
                .run(version.name, version.version, JSON.stringify(version.manifest), version.codeDir, version.codeSha256, version.codeBytes, now);
            const pruned = this.db.prepare('SELECT * FROM versions WHERE name = ? ORDER BY version DESC LIMIT -1 OFFSET ?').all(version.name, keep).map(toVersion);
            for (const old of pruned)
                this.db.prepare('DELETE FROM versions WHERE name = ? AND version = ?').run(old.name, old.version);
            return pruned;
        })();
    }
    latest(name) {
        const row = this.db
            .prepare('SELECT v.* FROM versions v JOIN functions f ON f.name = v.name AND f.latest_version = v.version WHERE f.name = ?')
            .get(name);
        return row ? toVersion(row) : undefined;
    }
    getVersion(name, version) {
        const row = this.db.prepare('SELECT * FROM versions WHERE name = ? AND version = ?').get(name, version);
        return row ? toVersion(row) : undefined;
    }
    versions(name) {
        return this.db.prepare('SELECT * FROM versions WHERE name = ? ORDER BY version DESC').all(name).map(toVersion);
    }
    list() {
        const rows = this.db
            .prepare(`SELECT v.*, f.created_at AS f_created, f.updated_at AS f_updated FROM functions f
         JOIN versions v ON v.name = f.name AND v.version = f.latest_version ORDER BY f.name`)
            .all();
        return rows.map((row) => ({ name: row.name, latest: toVersion(row), createdAt: row.f_created, updatedAt: row.f_updated }));
    }
    /** Deletes a function and all its versions; returns the deleted versions (for code removal). */
    remove(name) {
        return this.db.transaction(() => {
            const versions = this.versions(name);
            const info = this.db.prepare('DELETE FROM functions WHERE name = ?').run(name);
            return info.changes === 0 ? undefined : versions;
        })();
    }
    /** Every code directory referenced by a version (to find orphans after a crash). */
    referencedCodeDirs() {
        return new Set(this.db.prepare('SELECT code_dir FROM versions').all().map((r) => r.code_dir));
    }
    close() {
        this.db.close();
    }
}
//# sourceMappingURL=store.js.map