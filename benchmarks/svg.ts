// Draws ns/call per scenario per library as a horizontal bar chart on a log scale, in plain SVG.
import { xBaseline, type Results } from './results-model.js';
import type { Library } from './scenarios/types.js';

const COLOURS: Record<Library, string> = {
  bare: '#6b7280',
  bulwark: '#2563eb',
  cockatiel: '#d97706',
  opossum: '#059669',
};

const WIDTH = 1000;
const PLOT_LEFT = 330;
const PLOT_RIGHT = 850;
const TOP = 104;
const BAR = 14;
const BAR_GAP = 3;
const GROUP_GAP = 14;

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A bar's label: three significant digits in the unit that fits. */
function duration(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toPrecision(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toPrecision(3)} µs`;
  return `${ns < 100 ? ns.toFixed(1) : Math.round(ns)} ns`;
}

/** An axis label at a power of ten. */
function tick(ns: number): string {
  if (ns >= 1e6) return `${ns / 1e6} ms`;
  if (ns >= 1e3) return `${ns / 1e3} µs`;
  return `${ns} ns`;
}

export function renderSvg(results: Results, subtitle: string): string {
  const measured = results.rows.filter((r) => r.measured);
  const shown = results.rows.filter((r) => r.measured || r.unavailable || r.skipped);
  const values = measured.map((r) => r.measured!.nsPerCall);
  const lo = Math.floor(Math.log10(Math.max(1, Math.min(...values, 10))));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values, 100))));
  const x = (ns: number) =>
    PLOT_LEFT + ((Math.log10(Math.max(ns, 10 ** lo)) - lo) / (hi - lo)) * (PLOT_RIGHT - PLOT_LEFT);

  const body: string[] = [];
  let y = TOP;
  const groups = [...new Set(shown.map((r) => r.scenario))];
  for (const scenario of groups) {
    const bars = shown.filter((r) => r.scenario === scenario);
    body.push(`<text x="12" y="${y + BAR - 3}" class="scenario">${esc(scenario.title)}</text>`);
    for (const row of bars) {
      body.push(`<text x="${PLOT_LEFT - 8}" y="${y + BAR - 3}" class="lib">${row.library}</text>`);
      if (row.measured) {
        const ns = row.measured.nsPerCall;
        const w = Math.max(1, x(ns) - PLOT_LEFT);
        const base = xBaseline(results, row);
        const vs =
          base === undefined
            ? ''
            : ` (${base < 10 ? base.toFixed(2) : Math.round(base).toLocaleString('en-US')}x ${row.scenario.baseline!.name})`;
        body.push(
          `<rect x="${PLOT_LEFT}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${COLOURS[row.library]}"/>`,
          `<text x="${(PLOT_LEFT + w + 6).toFixed(1)}" y="${y + BAR - 3}" class="value">${duration(ns)}${esc(vs)}</text>`,
        );
      } else {
        const why = row.skipped ? `skipped: ${row.skipped}` : `n/a: ${row.unavailable ?? ''}`;
        body.push(`<text x="${PLOT_LEFT + 4}" y="${y + BAR - 3}" class="na">${esc(why)}</text>`);
      }
      y += BAR + BAR_GAP;
    }
    y += GROUP_GAP;
  }
  const bottom = y;

  const grid: string[] = [];
  for (let d = lo; d <= hi; d++) {
    const gx = x(10 ** d).toFixed(1);
    grid.push(
      `<line x1="${gx}" y1="${TOP - 8}" x2="${gx}" y2="${bottom - GROUP_GAP + 4}" class="grid"/>`,
      `<text x="${gx}" y="${TOP - 14}" class="tick">${tick(10 ** d)}</text>`,
    );
  }

  const legend = (['bare', 'bulwark', 'cockatiel', 'opossum'] as const).map(
    (lib, i) =>
      `<rect x="${12 + i * 110}" y="58" width="12" height="12" fill="${COLOURS[lib]}"/>` +
      `<text x="${30 + i * 110}" y="68.5" class="legend">${lib}</text>`,
  );

  const height = bottom + 28;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>',
    '.title{font-size:17px;font-weight:bold;fill:#111}',
    '.sub{font-size:11px;fill:#555}',
    '.scenario{font-size:12px;font-weight:bold;fill:#222}',
    '.lib{font-size:11px;fill:#333;text-anchor:end}',
    '.value{font-size:11px;fill:#222}',
    '.tick{font-size:10px;fill:#666;text-anchor:middle}',
    '.legend{font-size:12px;fill:#222}',
    '.grid{stroke:#ddd;stroke-width:1}',
    '.na{font-size:11px;fill:#888;font-style:italic}',
    '</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="24" class="title">bulwark benchmark: ns per call (median, log scale; shorter is faster)</text>`,
    `<text x="12" y="42" class="sub">${esc(subtitle)}</text>`,
    ...legend,
    ...grid,
    ...body,
    `<text x="12" y="${height - 10}" class="sub">Each bar: median over shuffled rounds of tinybench's median batch time / batch size.</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** One bar of a {@link renderGroupedBars} chart: a library's value, drawn in its colour. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
}

export interface GroupedBars {
  readonly title: string;
  readonly subtitle: string;
  readonly groups: readonly { readonly title: string; readonly bars: readonly Bar[] }[];
  readonly footer: string;
}

/**
 * Groups of horizontal bars on linear scales, one scale per group (the scenarios' charts: a
 * group per figure, a bar per library). `none`, the service without a policy, is drawn grey.
 */
export function renderGroupedBars(chart: GroupedBars): string {
  const colour = (label: string) => (label in COLOURS ? COLOURS[label as Library] : COLOURS.bare);
  const body: string[] = [];
  let y = 78;
  for (const group of chart.groups) {
    body.push(`<text x="12" y="${y + BAR - 3}" class="scenario">${esc(group.title)}</text>`);
    y += BAR + BAR_GAP + 2;
    const max = Math.max(...group.bars.map((b) => b.value), 1e-9);
    for (const bar of group.bars) {
      const w = Math.max(1, (bar.value / max) * (PLOT_RIGHT - PLOT_LEFT));
      const shown =
        bar.value >= 100 || Number.isInteger(bar.value)
          ? Math.round(bar.value).toLocaleString('en-US')
          : bar.value.toFixed(1);
      body.push(
        `<text x="${PLOT_LEFT - 8}" y="${y + BAR - 3}" class="lib">${esc(bar.label)}</text>`,
        `<rect x="${PLOT_LEFT}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${colour(bar.label)}"/>`,
        `<text x="${(PLOT_LEFT + w + 6).toFixed(1)}" y="${y + BAR - 3}" class="value">${shown}${esc(bar.unit)}</text>`,
      );
      y += BAR + BAR_GAP;
    }
    y += GROUP_GAP;
  }
  const height = y + 28;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>',
    '.title{font-size:17px;font-weight:bold;fill:#111}',
    '.sub{font-size:11px;fill:#555}',
    '.scenario{font-size:12px;font-weight:bold;fill:#222}',
    '.lib{font-size:11px;fill:#333;text-anchor:end}',
    '.value{font-size:11px;fill:#222}',
    '</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="24" class="title">${esc(chart.title)}</text>`,
    `<text x="12" y="42" class="sub">${esc(chart.subtitle)}</text>`,
    ...body,
    `<text x="12" y="${height - 10}" class="sub">${esc(chart.footer)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
