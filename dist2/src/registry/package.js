// Function packages: a zip (or a directory, zipped by the CLI) unpacked into a
// staging directory with every entry checked: no traversal, no absolute paths,
// no symlink leaving the package, caps on size and file count (zip bombs).
import fs from 'node:fs';
import path from 'node:path';
import yauzl from 'yauzl';
import { HearthError } from '../errors.js';
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
function openZip(buffer) {
    return new Promise((resolve, reject) => {
        yauzl.fromBuffer(buffer, { lazyEntries: true, autoClose: false, validateEntrySizes: true, decodeStrings: false }, (error, zip) => {
            if (error || !zip)
                reject(new HearthError('HEARTH_E_PACKAGE_INVALID', `not a valid zip archive: ${error?.message ?? 'unreadable'}`));
            else
                resolve(zip);
        });
    });
}
/** Checks an entry name and returns its normalised relative path. */
export function safeEntryPath(name) {
    if (name.includes('\0'))
        throw new HearthError('HEARTH_E_PACKAGE_TRAVERSAL', `entry '${name}': NUL byte in name`, { file: name });
    if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\')) {
        throw new HearthError('HEARTH_E_PACKAGE_TRAVERSAL', `entry '${name}': absolute paths and backslashes are not allowed`, { file: name });
    }
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..'))
        throw new HearthError('HEARTH_E_PACKAGE_TRAVERSAL', `entry '${name}': '..' would leave the package`, { file: name });
    return parts.join('/');
}
/** A symlink target is allowed when it is relative and resolves inside the package. */
function checkSymlinkTarget(entryPath, target) {
    if (target.startsWith('/') || target.includes('\0')) {
        throw new HearthError('HEARTH_E_PACKAGE_SYMLINK', `entry '${entryPath}': symlink to absolute path '${target}' leaves the package`, { file: entryPath });
    }
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(entryPath), target));
    if (resolved === '..' || resolved.startsWith('../')) {
        throw new HearthError('HEARTH_E_PACKAGE_SYMLINK', `entry '${entryPath}': symlink to '${target}' leaves the package`, { file: entryPath });
    }
}
function readEntry(zip, entry, budget) {
    return new Promise((resolve, reject) => {
        zip.openReadStream(entry, (error, stream) => {
            if (error || !stream)
                return reject(new HearthError('HEARTH_E_PACKAGE_INVALID', `entry '${entry.fileName}': ${error?.message ?? 'unreadable'}`, { file: entry.fileName }));
            const chunks = [];
            stream.on('data', (chunk) => {
                budget.remaining -= chunk.length;
                if (budget.remaining < 0) {
                    stream.destroy();
                    reject(new HearthError('HEARTH_E_PACKAGE_TOO_LARGE', `package unpacks to more than the allowed size (at entry '${entry.fileName}')`, { file: entry.fileName }));
                    return;
                }
                chunks.push(chunk);
            });
            stream.on('error', (e) => reject(new HearthError('HEARTH_E_PACKAGE_INVALID', `entry '${entry.fileName}': ${e.message}`, { file: entry.fileName })));
            stream.on('end', () => resolve(Buffer.concat(chunks)));
        });
    });
}
/**
 * Unpacks `zipBuffer` into `destDir` (which must not exist yet). Regular files
 * are written before any symlink is created, so no write can pass through a link.
 */
export async function unpackZip(zipBuffer, destDir, limits) {
    const zip = await openZip(zipBuffer);
    if (zip.entryCount > limits.maxFiles) {
        zip.close();
        throw new HearthError('HEARTH_E_PACKAGE_TOO_LARGE', `package has ${zip.entryCount} entries; at most ${limits.maxFiles} are allowed`);
    }
    fs.mkdirSync(destDir, { recursive: false, mode: 0o755 });
    const budget = { remaining: limits.maxUnpackedBytes };
    const seen = new Set();
    const symlinks = [];
    let files = 0;
    try {
        await new Promise((resolve, reject) => {
            zip.on('error', (e) => reject(e instanceof HearthError ? e : new HearthError('HEARTH_E_PACKAGE_INVALID', `not a valid zip archive: ${e.message}`)));
            zip.on('end', () => resolve());
            zip.on('entry', (entry) => {
                void (async () => {
                    // decodeStrings is off so that hearth, not yauzl, judges names (precise error codes).
                    const rawName = entry.fileName;
                    entry.fileName = Buffer.isBuffer(rawName) ? rawName.toString('utf8') : rawName;
                    const rel = safeEntryPath(entry.fileName);
                    if (rel === '')
                        return zip.readEntry();
                    if (seen.has(rel))
                        throw new HearthError('HEARTH_E_PACKAGE_INVALID', `entry '${entry.fileName}' appears twice`, { file: entry.fileName });
                    seen.add(rel);
                    if (entry.uncompressedSize > budget.remaining) {
                        throw new HearthError('HEARTH_E_PACKAGE_TOO_LARGE', `package unpacks to more than ${limits.maxUnpackedBytes} bytes (at entry '${entry.fileName}')`, { file: entry.fileName });
                    }
                    const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
                    const kind = unixMode & S_IFMT;
                    const target = path.join(destDir, rel);
                    if (entry.fileName.endsWith('/') || kind === S_IFDIR) {
                        fs.mkdirSync(target, { recursive: true, mode: 0o755 });
                    }
                    else if (kind === S_IFLNK) {
                        const linkTarget = (await readEntry(zip, entry, budget)).toString('utf8');
                        checkSymlinkTarget(rel, linkTarget);
                        symlinks.push({ path: rel, target: linkTarget });
                    }
                    else {
                        const data = await readEntry(zip, entry, budget);
                        fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
                        const executable = (unixMode & 0o111) !== 0;
                        fs.writeFileSync(target, data, { flag: 'wx', mode: executable ? 0o755 : 0o644 });
                        files += 1;
                    }
                    zip.readEntry();
                })().catch(reject);
            });
            zip.readEntry();
        });
        for (const link of symlinks) {
            const linkPath = path.join(destDir, link.path);
            fs.mkdirSync(path.dirname(linkPath), { recursive: true, mode: 0o755 });
            fs.symlinkSync(link.target, linkPath);
        }
        // Second check on disk: no symlink chain may resolve outside the package.
        const realRoot = fs.realpathSync(destDir);
        for (const link of symlinks) {
            let resolved;
            try {
                resolved = fs.realpathSync(path.join(destDir, link.path));
            }
            catch {
                continue; // dangling inside the package: harmless
            }
            if (resolved !== realRoot && !resolved.startsWith(realRoot + path.sep)) {
                throw new HearthError('HEARTH_E_PACKAGE_SYMLINK', `entry '${link.path}': symlink resolves outside the package`, { file: link.path });
            }
        }
    }
    finally {
        zip.close();
    }
    return { files, bytes: limits.maxUnpackedBytes - budget.remaining };
}
/** Makes an unpacked package read-only (files 0444/0555, directories 0555). */
export function makeReadOnly(dir) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isSymbolicLink())
            continue;
        if (entry.isDirectory())
            makeReadOnly(full);
        else
            fs.chmodSync(full, (fs.statSync(full).mode & 0o111) !== 0 ? 0o555 : 0o444);
    }
    fs.chmodSync(dir, 0o555);
}
/** Removes a directory tree made read-only by makeReadOnly. */
export function removeTree(dir) {
    if (!fs.existsSync(dir))
        return;
    const makeWritable = (d) => {
        fs.chmodSync(d, 0o755);
        for (const entry of fs.readdirSync(d, { withFileTypes: true }))
            if (entry.isDirectory())
                makeWritable(path.join(d, entry.name));
    };
    makeWritable(dir);
    fs.rmSync(dir, { recursive: true, force: true });
}
//# sourceMappingURL=package.js.map