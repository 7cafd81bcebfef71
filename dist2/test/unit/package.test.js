import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import yazl from 'yazl';
import { HearthError } from '../../src/errors.js';
import { safeEntryPath, unpackZip } from '../../src/registry/package.js';
import { tempDir } from '../helpers.js';
const LIMITS = { maxUnpackedBytes: 1024 * 1024, maxFiles: 50 };
const dirs = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
async function makeZip(entries, rename = {}) {
    const zip = new yazl.ZipFile();
    for (const e of entries) {
        if (e.dir)
            zip.addEmptyDirectory(e.name);
        else
            zip.addBuffer(Buffer.from(e.data ?? ''), e.name, e.mode !== undefined ? { mode: e.mode } : {});
    }
    zip.end();
    const chunks = [];
    for await (const c of zip.outputStream)
        chunks.push(c);
    let buffer = Buffer.concat(chunks);
    // yazl refuses hostile names, so write a same-length placeholder and patch the bytes.
    for (const [from, to] of Object.entries(rename)) {
        assert.equal(from.length, to.length);
        let at;
        while ((at = buffer.indexOf(from)) !== -1)
            buffer = Buffer.concat([buffer.subarray(0, at), Buffer.from(to), buffer.subarray(at + from.length)]);
    }
    return buffer;
}
function dest() {
    const d = tempDir('unpack');
    dirs.push(d);
    return path.join(d, 'code');
}
async function rejects(zip, code, pattern, limits = LIMITS) {
    const target = dest();
    await assert.rejects(unpackZip(zip, target, limits), (error) => {
        assert.ok(error instanceof HearthError, `expected HearthError, got ${String(error)}`);
        assert.equal(error.code, code);
        assert.match(error.message, pattern);
        return true;
    });
    return target;
}
test('unpacks files, directories, modes and internal symlinks', async () => {
    const zip = await makeZip([
        { name: 'index.mjs', data: 'export const handler = () => 1' },
        { name: 'lib/', dir: true },
        { name: 'lib/util.js', data: 'x' },
        { name: 'bin/run', data: '#!/bin/sh', mode: 0o100755 },
        { name: 'lib/link.js', data: 'util.js', mode: 0o120777 },
    ]);
    const target = dest();
    const result = await unpackZip(zip, target, LIMITS);
    assert.equal(result.files, 3);
    assert.equal(fs.readFileSync(path.join(target, 'lib/util.js'), 'utf8'), 'x');
    assert.equal(fs.readlinkSync(path.join(target, 'lib/link.js')), 'util.js');
    assert.ok((fs.statSync(path.join(target, 'bin/run')).mode & 0o111) !== 0);
});
test('rejects ../ traversal', async () => {
    const zip = await makeZip([{ name: 'xx/evil.txt', data: 'pwned' }], { 'xx/evil.txt': '../evil.txt' });
    const target = await rejects(zip, 'HEARTH_E_PACKAGE_TRAVERSAL', /'\.\.\/evil\.txt'.*leave the package/);
    assert.equal(fs.existsSync(path.join(path.dirname(target), 'evil.txt')), false);
});
test('rejects traversal hidden in the middle of a path', async () => {
    const zip = await makeZip([{ name: 'a/xx/xx/b.txt', data: 'x' }], { 'a/xx/xx/b.txt': 'a/../../b.txt' });
    await rejects(zip, 'HEARTH_E_PACKAGE_TRAVERSAL', /leave the package/);
});
test('rejects absolute paths', async () => {
    const zip = await makeZip([{ name: 'xtmp/evil', data: 'x' }], { 'xtmp/evil': '/tmp/evil' });
    await rejects(zip, 'HEARTH_E_PACKAGE_TRAVERSAL', /absolute/);
});
test('rejects symlinks that leave the package', async () => {
    await rejects(await makeZip([{ name: 'passwd', data: '/etc/passwd', mode: 0o120777 }]), 'HEARTH_E_PACKAGE_SYMLINK', /absolute path '\/etc\/passwd'/);
    await rejects(await makeZip([{ name: 'a/up', data: '../../etc', mode: 0o120777 }]), 'HEARTH_E_PACKAGE_SYMLINK', /leaves the package/);
});
test('a symlinked directory cannot be used to write outside', async () => {
    // 'dir' -> '.' is allowed, but files are written before links exist, so 'dir/x' is a plain file path.
    const zip = await makeZip([
        { name: 'dir', data: '.', mode: 0o120777 },
        { name: 'ok.txt', data: 'fine' },
    ]);
    const target = dest();
    await unpackZip(zip, target, LIMITS);
    assert.equal(fs.readFileSync(path.join(target, 'dir', 'ok.txt'), 'utf8'), 'fine');
});
test('rejects zip bombs by total unpacked size', async () => {
    const zip = await makeZip([{ name: 'zeros.bin', data: Buffer.alloc(5 * 1024 * 1024) }]);
    assert.ok(zip.length < 64 * 1024, 'the bomb compresses well');
    await rejects(zip, 'HEARTH_E_PACKAGE_TOO_LARGE', /more than/);
});
test('rejects entries whose real size exceeds the declared size', async () => {
    const data = Buffer.alloc(2 * 1024 * 1024, 1);
    const zip = await makeZip([{ name: 'liar.bin', data }]);
    // Patch the declared uncompressed size (local header offset 22, central directory +24) down to 10 bytes.
    const local = zip.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    zip.writeUInt32LE(10, local + 22);
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE(10, central + 24);
    await rejects(zip, 'HEARTH_E_PACKAGE_INVALID', /liar\.bin/, { maxUnpackedBytes: 100 * 1024 * 1024, maxFiles: 10 });
});
test('rejects too many files', async () => {
    const entries = Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }));
    await rejects(await makeZip(entries), 'HEARTH_E_PACKAGE_TOO_LARGE', /60 entries; at most 50/);
});
test('rejects duplicate entries and non-zip data', async () => {
    const zip = await makeZip([{ name: 'a.txt', data: '1' }, { name: 'b.txt', data: '2' }], { 'b.txt': 'a.txt' });
    await rejects(zip, 'HEARTH_E_PACKAGE_INVALID', /appears twice/);
    await rejects(Buffer.from('this is not a zip file at all'), 'HEARTH_E_PACKAGE_INVALID', /not a valid zip/);
});
test('safeEntryPath normalises and refuses', () => {
    assert.equal(safeEntryPath('./a//b/./c.js'), 'a/b/c.js');
    assert.throws(() => safeEntryPath('a\\..\\b'), /backslashes/);
    assert.throws(() => safeEntryPath('C:/x'), /absolute/);
    assert.throws(() => safeEntryPath('a\0b'), /NUL/);
});
//# sourceMappingURL=package.test.js.map