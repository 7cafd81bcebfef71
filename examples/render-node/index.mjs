// A function with a real npm dependency and a noticeable init: handlebars is
// loaded and the page template compiled once, at init; each invocation only
// renders. The dependency lives in this directory's node_modules
// (npm --prefix examples/render-node install --omit=dev) and is deployed with it.
import Handlebars from 'handlebars';

const initStarted = performance.now();

Handlebars.registerHelper('upper', (text) => String(text).toUpperCase());
Handlebars.registerHelper('money', (cents) => `${(Number(cents) / 100).toFixed(2)} €`);

const page = Handlebars.compile(`<!doctype html>
<html>
<head><title>{{title}}</title></head>
<body>
  <h1>{{upper title}}</h1>
  <p>Hello, {{name}}!</p>
  {{#if items.length}}
  <table>
    {{#each items}}
    <tr><td>{{@index}}</td><td>{{this.name}}</td><td>{{money this.cents}}</td></tr>
    {{/each}}
    <tr><td></td><td>total</td><td>{{money total}}</td></tr>
  </table>
  {{else}}
  <p>No items.</p>
  {{/if}}
  <footer>request {{requestId}}</footer>
</body>
</html>
`);

// Render once at init so the first invocation does not pay for lazy compilation.
page({ title: 'warm-up', name: 'init', items: [], total: 0, requestId: '-' });
const initMs = performance.now() - initStarted;

/** Event: {"name": "you", "title": "Invoice", "items": [{"name": "tea", "cents": 350}]} */
export const handler = async (event, context) => {
  const items = Array.isArray(event?.items) ? event.items : [];
  const total = items.reduce((sum, item) => sum + (Number(item?.cents) || 0), 0);
  const html = page({
    title: event?.title ?? 'hearth',
    name: event?.name ?? 'world',
    items,
    total,
    requestId: context.awsRequestId,
  });
  return {
    statusCode: 200,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: html,
    templateInitMs: Math.round(initMs * 100) / 100,
  };
};
