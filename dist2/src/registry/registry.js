// The registry: validated deploys that are atomic on disk and in SQLite.
// A deploy unpacks into staging/, validates, renames into functions/<name>/, then
// commits the row; a crash at any point leaves the previous version intact and at
// worst an orphan directory that the next start removes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HearthError } from '../errors.js';
import { FunctionNameSchema, handlerModuleCandidates, MANIFEST_FILE, parseManifest } from './manifest.js';
import { makeReadOnly, removeTree, unpackZip } from './package.js';
import { RegistryStore } from './store.js';
export class Registry {
    options;
    store;
    functionsDir;
    stagingDir;
    deployChain = Promise.resolve();
    listeners = [];
    constructor(options) {
        this.options = options;
        fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
        this.functionsDir = path.join(options.dataDir, 'functions');
        this.stagingDir = path.join(options.dataDir, 'staging');
        fs.mkdirSync(this.functionsDir, { recursive: true, mode: 0o755 });
        this.store = new RegistryStore(path.join(options.dataDir, 'registry.db'));
        this.recover();
    }
    /** Removes what an interrupted deploy left behind: staging dirs and code dirs no row points at. */
    recover() {
        removeTree(this.stagingDir);
        fs.mkdirSync(this.stagingDir, { recursive: true, mode: 0o700 });
        const referenced = this.store.referencedCodeDirs();
        for (const fn of fs.readdirSync(this.functionsDir)) {
            const fnDir = path.join(this.functionsDir, fn);
            for (const v of fs.readdirSync(fnDir)) {
                const dir = path.join(fnDir, v);
                if (!referenced.has(dir)) {
                    this.options.log.warn({ dir }, 'removing orphan code directory from an interrupted deploy');
                    removeTree(dir);
                }
            }
            if (fs.readdirSync(fnDir).length === 0)
                fs.rmdirSync(fnDir);
        }
    }
    onChange(listener) {
        this.listeners.push(listener);
    }
    emit(event) {
        for (const listener of this.listeners)
            listener(event);
    }
    async deploy(request) {
        const staging = fs.mkdtempSync(path.join(this.stagingDir, 'deploy-'));
        try {
            const codeDir = path.join(staging, 'code');
            const unpacked = await unpackZip(request.zip, codeDir, this.options.limits);
            const manifest = request.manifest !== undefined ? parseManifest(request.manifest, 'request manifest') : this.readPackageManifest(codeDir);
            this.checkHandlerExists(codeDir, manifest);
            const sha256 = crypto.createHash('sha256').update(request.zip).digest('hex');
            makeReadOnly(codeDir);
            // Serialise the commit so that version numbers are assigned in order.
            const commit = this.deployChain.then(() => this.commit(manifest, codeDir, sha256, unpacked.bytes));
            this.deployChain = commit.catch(() => undefined);
            const version = await commit;
            this.emit({ kind: 'deployed', name: version.name, version });
            return version;
        }
        finally {
            removeTree(staging);
        }
    }
    /**
     * Creates a new version of `name` with the latest version's code and its manifest
     * changed by `patch`. The code is copied through staging, so the update is as
     * atomic as a deploy; a patch that changes nothing returns the latest version.
     */
    async updateConfiguration(name, patch) {
        const update = this.deployChain.then(() => {
            const latest = this.get(name);
            const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
            const manifest = parseManifest({ ...latest.manifest, ...defined, name }, 'configuration update');
            if (JSON.stringify(manifest) === JSON.stringify(latest.manifest))
                return latest;
            const staging = fs.mkdtempSync(path.join(this.stagingDir, 'config-'));
            try {
                const codeDir = path.join(staging, 'code');
                copyTree(latest.codeDir, codeDir);
                this.checkHandlerExists(codeDir, manifest);
                makeReadOnly(codeDir);
                return this.commit(manifest, codeDir, latest.codeSha256, latest.codeBytes);
            }
            finally {
                removeTree(staging);
            }
        });
        this.deployChain = update.catch(() => undefined);
        const version = await update;
        this.emit({ kind: 'deployed', name: version.name, version });
        return version;
    }
    commit(manifest, stagedCode, sha256, bytes) {
        // Deploying exactly what is already the latest version is a no-op (e.g. `hearth up --deploy` on every start).
        const latest = this.store.latest(manifest.name);
        if (latest && latest.codeSha256 === sha256 && JSON.stringify(latest.manifest) === JSON.stringify(manifest))
            return latest;
        const version = this.store.nextVersion(manifest.name);
        const finalDir = path.join(this.functionsDir, manifest.name, `v${version}-${sha256.slice(0, 12)}`);
        fs.mkdirSync(path.dirname(finalDir), { recursive: true, mode: 0o755 });
        fs.renameSync(stagedCode, finalDir);
        let pruned;
        try {
            pruned = this.store.addVersion({ name: manifest.name, version, manifest, codeDir: finalDir, codeSha256: sha256, codeBytes: bytes }, this.options.keepVersions);
        }
        catch (error) {
            removeTree(finalDir);
            throw error;
        }
        for (const old of pruned)
            removeTree(old.codeDir);
        return this.store.getVersion(manifest.name, version);
    }
    readPackageManifest(codeDir) {
        const file = path.join(codeDir, MANIFEST_FILE);
        let text;
        try {
            const stat = fs.lstatSync(file);
            if (!stat.isFile())
                throw new Error('not a regular file');
            text = fs.readFileSync(file, 'utf8');
        }
        catch {
            throw new HearthError('HEARTH_E_MANIFEST_INVALID', `package has no ${MANIFEST_FILE} at its root (or it is not a regular file); add one or pass the manifest with the request`, { file: MANIFEST_FILE });
        }
        let json;
        try {
            json = JSON.parse(text);
        }
        catch (error) {
            throw new HearthError('HEARTH_E_MANIFEST_INVALID', `${MANIFEST_FILE}: not valid JSON: ${error.message}`, { file: MANIFEST_FILE });
        }
        return parseManifest(json, MANIFEST_FILE);
    }
    checkHandlerExists(codeDir, manifest) {
        const candidates = handlerModuleCandidates(manifest);
        const realRoot = fs.realpathSync(codeDir);
        const found = candidates.some((candidate) => {
            try {
                const real = fs.realpathSync(path.join(codeDir, candidate));
                return real.startsWith(realRoot + path.sep) && fs.statSync(real).isFile();
            }
            catch {
                return false;
            }
        });
        if (!found) {
            throw new HearthError('HEARTH_E_PACKAGE_INVALID', `handler '${manifest.handler}': none of ${candidates.map((c) => `'${c}'`).join(', ')} exists in the package`, { field: 'handler', files: candidates });
        }
    }
    get(name) {
        const version = this.store.latest(FunctionNameSchema.safeParse(name).success ? name : '');
        if (!version)
            throw new HearthError('HEARTH_E_FUNCTION_NOT_FOUND', `function '${name}' does not exist`, { function: name });
        return version;
    }
    find(name) {
        return this.store.latest(name);
    }
    versions(name) {
        return this.store.versions(name);
    }
    list() {
        return this.store.list();
    }
    async remove(name) {
        const removal = this.deployChain.then(() => {
            const versions = this.store.remove(name);
            if (!versions)
                throw new HearthError('HEARTH_E_FUNCTION_NOT_FOUND', `function '${name}' does not exist`, { function: name });
            return versions;
        });
        this.deployChain = removal.catch(() => undefined);
        const versions = await removal;
        this.emit({ kind: 'deleted', name });
        return versions;
    }
    /** Deletes code directories once nothing runs from them any more. */
    removeCode(versions) {
        for (const version of versions)
            removeTree(version.codeDir);
        for (const name of new Set(versions.map((v) => v.name))) {
            const dir = path.join(this.functionsDir, name);
            if (fs.existsSync(dir) && fs.readdirSync(dir).length === 0)
                fs.rmdirSync(dir);
        }
    }
    close() {
        this.store.close();
    }
}
/** Copies an unpacked package (regular files, directories, symlinks as they are) into `dest`, which must not exist. */
function copyTree(src, dest) {
    fs.mkdirSync(dest, { mode: 0o755 });
    for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
        const from = path.join(src, entry.name);
        const to = path.join(dest, entry.name);
        if (entry.isSymbolicLink())
            fs.symlinkSync(fs.readlinkSync(from), to);
        else if (entry.isDirectory())
            copyTree(from, to);
        else if (entry.isFile()) {
            fs.copyFileSync(from, to, fs.constants.COPYFILE_EXCL);
            fs.chmodSync(to, (fs.statSync(from).mode & 0o111) !== 0 ? 0o755 : 0o644);
        }
    }
}
//# sourceMappingURL=registry.js.map