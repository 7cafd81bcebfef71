// Zips a function directory for upload (regular files, directories and symlinks, as they are).
import fs from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
export async function zipDirectory(dir) {
    const zip = new yazl.ZipFile();
    const walk = (rel) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const relPath = rel ? `${rel}/${entry.name}` : entry.name;
            const full = path.join(dir, relPath);
            if (entry.isSymbolicLink()) {
                zip.addBuffer(Buffer.from(fs.readlinkSync(full)), relPath, { mode: 0o120777 });
            }
            else if (entry.isDirectory()) {
                zip.addEmptyDirectory(relPath);
                walk(relPath);
            }
            else if (entry.isFile()) {
                zip.addFile(full, relPath, { mode: fs.statSync(full).mode });
            }
        }
    };
    walk('');
    zip.end();
    const chunks = [];
    for await (const chunk of zip.outputStream)
        chunks.push(chunk);
    return Buffer.concat(chunks);
}
//# sourceMappingURL=zip-dir.js.map