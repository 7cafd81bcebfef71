import { startHearth } from './src/main.js';
import pino from 'pino';
import fs from 'node:fs';
const { zipDirectory } = await import('./src/cli/zip-dir.js');
const mk = async (name, port, sandbox) => {
  fs.rmSync('/tmp/' + name, { recursive: true, force: true });
  const lines = [];
  const log = pino({ level: 'debug' }, { write: (s) => { if (s.includes('instance forked')) lines.push(JSON.parse(s)); } });
  const h = await startHearth({ dataDir: '/tmp/' + name, port, keepAliveMs: 0, sandbox }, log);
  const zip = await zipDirectory('/work/main/examples/hello-python');
  const r = await fetch(h.url + '/v1/functions', { method: 'POST', body: zip, headers: { 'content-type': 'application/zip' } });
  return { h, lines, starts: [], name };
};
const a = await mk('hprofA', 18091, true), b = await mk('hprofB', 18092, false);
for (let i = 0; i < Number(process.argv[2] ?? 100); i++) for (const s of [a, b]) {
  while (s.h.hearth.scheduler.stats('hello-python')[0]?.instances.length) await new Promise((r) => setTimeout(r, 1));
  const res = await fetch(s.h.url + '/function/hello-python', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  await res.text();
  if (res.headers.get('x-hearth-start-path') === 'fork') s.starts.push(Number(/start;dur=([\d.]+)/.exec(res.headers.get('server-timing'))[1]));
}
const q = (a, p) => a.slice().sort((x, y) => x - y)[Math.floor(p * (a.length - 1))];
for (const s of [a, b]) {
  console.log(s.name, 'start p50', q(s.starts, 0.5).toFixed(2), 'p99', q(s.starts, 0.99).toFixed(2), ['leafMs', 'forkMs', 'readyMs'].map((k) => k + ' ' + q(s.lines.map((l) => l[k]), 0.5).toFixed(2)).join(' '));
  await s.h.stop();
}
process.exit(0);
