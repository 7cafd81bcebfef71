// SeBS "dynamic-html" in Node.js: render a page with mustache (template parsed at init).
import Mustache from 'mustache';

const TEMPLATE = `<!doctype html>
<html><head><title>{{title}}</title></head>
<body><h1>{{title}}</h1><p>Generated for {{username}} at {{curTime}}</p>
<ul>{{#numbers}}<li>{{.}}</li>
{{/numbers}}</ul></body></html>`;
Mustache.parse(TEMPLATE);

export const handler = async (event) => {
  const rows = Number(event.rows ?? 1000);
  let x = Number(event.seed ?? 1) >>> 0 || 1;
  const numbers = Array.from({ length: rows }, () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % 1_000_000; });
  const html = Mustache.render(TEMPLATE, { title: 'hearth dynamic html', username: event.username ?? 'bench', curTime: new Date().toISOString(), numbers });
  return { bytes: html.length, rows };
};
