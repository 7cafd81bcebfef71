// A small SVG plotting module: line charts (linear or log x axis) and
// horizontal stacked bars. Plain strings, no dependencies.

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k`;
  if (Math.abs(v) >= 10) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(1);
  return v.toPrecision(2);
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  yMax?: number;
  /** Start the (linear) x axis here instead of at the smallest x. */
  xMin?: number;
  width?: number;
  height?: number;
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 380;
  const m = { l: 60, r: 150, t: 36, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0));
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2 - m.r / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`];
  if (all.length === 0) {
    out.push(`<text x="${m.l + pw / 2}" y="${m.t + ph / 2}" text-anchor="middle">no data</text>`, '</svg>');
    return out.join('\n');
  }
  let xMin = o.xMin ?? Math.min(...all.map((p) => p[0]));
  let xMax = Math.max(...all.map((p) => p[0]));
  const yMin = 0;
  const yMax = o.yMax ?? (Math.max(...all.map((p) => p[1])) * 1.05 || 1);
  if (o.logX) {
    xMin = 10 ** Math.floor(Math.log10(xMin));
    xMax = 10 ** Math.ceil(Math.log10(xMax));
  }
  if (xMax === xMin) xMax = xMin + 1;
  const sx = (x: number): number => m.l + (o.logX ? (Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin)) : (x - xMin) / (xMax - xMin)) * pw;
  const sy = (y: number): number => m.t + ph - ((y - yMin) / (yMax - yMin)) * ph;
  // Axes and grid.
  const xTicks: number[] = [];
  if (o.logX) for (let e = Math.log10(xMin); e <= Math.log10(xMax) + 1e-9; e++) xTicks.push(10 ** e);
  else for (let i = 0; i <= 5; i++) xTicks.push(xMin + ((xMax - xMin) * i) / 5);
  for (const x of xTicks) out.push(`<line x1="${sx(x)}" y1="${m.t}" x2="${sx(x)}" y2="${m.t + ph}" stroke="#ddd"/>`, `<text x="${sx(x)}" y="${m.t + ph + 14}" text-anchor="middle">${fmt(x)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = yMin + ((yMax - yMin) * i) / 5;
    out.push(`<line x1="${m.l}" y1="${sy(y)}" x2="${m.l + pw}" y2="${sy(y)}" stroke="#ddd"/>`, `<text x="${m.l - 6}" y="${sy(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text x="14" y="${m.t + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${m.t + ph / 2})">${esc(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0));
    if (pts.length) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(Math.min(y, yMax)).toFixed(1)}`).join(' ')}"/>`);
    const ly = m.t + 10 + i * 16;
    out.push(`<line x1="${W - m.r + 10}" y1="${ly}" x2="${W - m.r + 30}" y2="${ly}" stroke="${color}" stroke-width="2"/>`, `<text x="${W - m.r + 34}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Points of an empirical CDF, thinned to at most `maxPoints`. */
export function cdfPoints(values: number[], maxPoints = 300): Array<[number, number]> {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const step = Math.max(1, Math.floor(sorted.length / maxPoints));
  const pts: Array<[number, number]> = [];
  for (let i = 0; i < sorted.length; i += step) pts.push([sorted[i]!, (i + 1) / sorted.length]);
  pts.push([sorted[sorted.length - 1]!, 1]);
  return pts;
}

export interface StackedBarsOptions {
  title: string;
  unit: string;
  categories: string[];
  stacks: string[];
  /** values[category][stack] */
  values: number[][];
  width?: number;
}

export function stackedBars(o: StackedBarsOptions): string {
  const W = o.width ?? 760;
  const barH = 16;
  const m = { l: 230, r: 30, t: 56, b: 40 };
  const H = m.t + m.b + o.categories.length * (barH + 6);
  const pw = W - m.l - m.r;
  const totals = o.values.map((row) => row.reduce((s, v) => s + Math.max(0, v), 0));
  const max = Math.max(1e-9, ...totals) * 1.05;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(o.title)}</text>`];
  o.stacks.forEach((s, i) => {
    const x = m.l + i * 110;
    out.push(`<rect x="${x}" y="30" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`, `<text x="${x + 16}" y="40">${esc(s)}</text>`);
  });
  o.categories.forEach((c, ci) => {
    const y = m.t + ci * (barH + 6);
    out.push(`<text x="${m.l - 6}" y="${y + barH - 4}" text-anchor="end">${esc(c)}</text>`);
    let x = m.l;
    o.values[ci]!.forEach((v, si) => {
      const w = (Math.max(0, v) / max) * pw;
      if (w > 0) out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[si % COLORS.length]}"><title>${esc(`${c} ${o.stacks[si]}: ${v.toFixed(2)} ${o.unit}`)}</title></rect>`);
      x += w;
    });
    out.push(`<text x="${(x + 4).toFixed(1)}" y="${y + barH - 4}">${fmt(totals[ci]!)}</text>`);
  });
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    const x = m.l + (v / max) * pw;
    out.push(`<line x1="${x}" y1="${H - m.b}" x2="${x}" y2="${H - m.b + 4}" stroke="#333"/>`, `<text x="${x}" y="${H - m.b + 16}" text-anchor="middle">${fmt(v)}</text>`);
  }
  out.push(`<text x="${m.l + pw / 2}" y="${H - 6}" text-anchor="middle">${esc(o.unit)}</text>`, '</svg>');
  return out.join('\n');
}
