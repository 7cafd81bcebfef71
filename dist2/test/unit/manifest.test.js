import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HearthError } from '../../src/errors.js';
import { handlerModuleCandidates, parseManifest } from '../../src/registry/manifest.js';
const base = { name: 'fn', runtime: 'nodejs20', handler: 'index.handler' };
function fails(input, field, pattern) {
    assert.throws(() => parseManifest(input, 'hearth.json'), (e) => e instanceof HearthError && e.code === 'HEARTH_E_MANIFEST_INVALID' && e.details?.field === field && pattern.test(e.message));
}
test('defaults are applied', () => {
    const m = parseManifest(base, 'hearth.json');
    assert.deepEqual({ memoryMB: m.memoryMB, timeoutS: m.timeoutS, concurrency: m.concurrency, env: m.env, network: m.network }, { memoryMB: 128, timeoutS: 30, concurrency: 10, env: {}, network: 'none' });
});
test('each field is checked and named', () => {
    fails({ ...base, name: '../x' }, 'name', /hearth\.json: field 'name'/);
    fails({ ...base, runtime: 'ruby' }, 'runtime', /one of nodejs20, python3\.11/);
    fails({ ...base, handler: 'index' }, 'handler', /file\.export/);
    fails({ ...base, handler: 'a/../../x.handler' }, 'handler', /leave the package/);
    fails({ ...base, handler: '/abs.handler' }, 'handler', /file\.export/);
    fails({ ...base, memoryMB: 16 }, 'memoryMB', /64/);
    fails({ ...base, timeoutS: 0 }, 'timeoutS', /1/);
    fails({ ...base, concurrency: 1.5 }, 'concurrency', /integer/);
    fails({ ...base, env: { 'BAD-NAME': 'x' } }, 'env.BAD-NAME', /names must match/);
    fails({ ...base, env: { HEARTH_CHANNEL_FD: '5' } }, 'env.HEARTH_CHANNEL_FD', /reserved/);
    fails({ ...base, env: { LD_PRELOAD: '/x.so' } }, 'env.LD_PRELOAD', /reserved/);
    fails({ ...base, network: 'host' }, 'network', /none|egress/);
    fails({ ...base, extra: 1 }, '(root)', /extra/);
    fails({ ...base, env: { A: 'x'.repeat(4000), B: 'y'.repeat(200) } }, 'env', /4 KB/);
});
test('handler module candidates per runtime', () => {
    assert.deepEqual(handlerModuleCandidates({ runtime: 'nodejs20', handler: 'src/app.handler' }), ['src/app.js', 'src/app.mjs', 'src/app.cjs']);
    assert.deepEqual(handlerModuleCandidates({ runtime: 'python3.11', handler: 'pkg.mod.handler' }), ['pkg/mod.py', 'pkg/mod/__init__.py']);
    assert.deepEqual(handlerModuleCandidates({ runtime: 'python3.11', handler: 'app.handler' }), ['app.py', 'app/__init__.py']);
});
//# sourceMappingURL=manifest.test.js.map