// hearth deploy <dir|zip>
import fs from 'node:fs';
import { clientFor, info, out } from '../context.js';
import { CliError } from '../client.js';
import { zipDirectory } from '../zip-dir.js';
export function registerDeploy(program) {
    program
        .command('deploy')
        .description('deploy a function from a directory or a zip (with hearth.json at its root)')
        .argument('<path>', 'function directory or .zip file')
        .action(async (target, _options, command) => {
        let stat;
        try {
            stat = fs.statSync(target);
        }
        catch {
            throw new CliError(`${target}: no such file or directory`);
        }
        const zip = stat.isDirectory() ? await zipDirectory(target) : fs.readFileSync(target);
        const result = await clientFor(command).json('POST', '/v1/functions', { data: zip, contentType: 'application/zip' });
        out(`deployed ${result.name} version ${result.version} (${result.runtime}, ${result.codeBytes} bytes)`);
        info(`invoke it: hearth invoke ${result.name} --data '{}'`);
    });
}
//# sourceMappingURL=deploy.js.map