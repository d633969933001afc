/** A dependency-free horizontal bar chart in SVG: one group of bars per row, one bar per series. */

export interface ChartSeries {
  name: string;
  color: string;
}

export interface ChartRow {
  label: string;
  /** One value per series, in the order of `series`; null leaves a gap and prints "n/a". */
  values: (number | null)[];
  /** Rows drawn with a bold label (e.g. Skiff's own). */
  highlight?: boolean;
}

export interface BarChart {
  title: string;
  subtitle?: string;
  unit: string;
  series: ChartSeries[];
  rows: ChartRow[];
  /** Digits after the point in value labels. */
  digits?: number;
  /** Axis maximum; longer bars are cut at it and marked with a break. Default: the largest value. */
  max?: number | undefined;
}

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const format = (value: number, digits: number): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function barChart(chart: BarChart): string {
  const width = 860;
  // about 7.5 px per character of a bold 12 px label
  const longest = Math.max(0, ...chart.rows.map((r) => r.label.length));
  const labelWidth = Math.round(Math.min(420, Math.max(160, longest * 7.5 + 24)));
  const valueWidth = 110;
  const barHeight = 16;
  const barGap = 3;
  const rowGap = 12;
  const top = chart.subtitle === undefined ? 48 : 64;
  const legendHeight = chart.series.length > 1 ? 24 : 0;
  const digits = chart.digits ?? 0;
  const rowHeight = chart.series.length * (barHeight + barGap) - barGap;
  const height = top + legendHeight + chart.rows.length * (rowHeight + rowGap) + 16;
  const max =
    chart.max ??
    Math.max(1e-9, ...chart.rows.flatMap((r) => r.values.filter((v): v is number => v !== null)));
  const plotWidth = width - labelWidth - valueWidth - 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="16" font-weight="bold" fill="#111">${escape(chart.title)}</text>`,
  ];
  if (chart.subtitle !== undefined) {
    out.push(`<text x="16" y="46" fill="#555">${escape(chart.subtitle)}</text>`);
  }
  let y = top;
  if (legendHeight > 0) {
    let x = labelWidth;
    for (const s of chart.series) {
      out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${s.color}"/>`);
      out.push(`<text x="${x + 16}" y="${y}" fill="#333">${escape(s.name)}</text>`);
      x += 24 + s.name.length * 7;
    }
    y += legendHeight;
  }
  const firstRowY = y;
  for (const row of chart.rows) {
    const labelY = y + rowHeight / 2 + 4;
    const weight = row.highlight === true ? ' font-weight="bold"' : '';
    out.push(
      `<text x="${labelWidth - 10}" y="${labelY}" text-anchor="end" fill="#111"${weight}>${escape(row.label)}</text>`,
    );
    chart.series.forEach((s, i) => {
      const value = row.values[i] ?? null;
      const barY = y + i * (barHeight + barGap);
      if (value === null) {
        out.push(`<text x="${labelWidth + 4}" y="${barY + barHeight - 4}" fill="#999">n/a</text>`);
        return;
      }
      const cut = value > max;
      const w = cut ? plotWidth : Math.max(1, (value / max) * plotWidth);
      out.push(
        `<rect x="${labelWidth}" y="${barY}" width="${w.toFixed(1)}" height="${barHeight}" fill="${s.color}"><title>${escape(`${row.label} — ${s.name}: ${format(value, digits)} ${chart.unit}`)}</title></rect>`,
      );
      if (cut) {
        const x = labelWidth + w - 14;
        out.push(
          `<path d="M${x} ${barY + barHeight + 1} l5 ${-barHeight - 2} M${x + 5} ${barY + barHeight + 1} l5 ${-barHeight - 2}" stroke="#fff" stroke-width="2"/>`,
        );
      }
      out.push(
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${barY + barHeight - 4}" fill="#333">${escape(`${format(value, digits)} ${chart.unit}`)}</text>`,
      );
    });
    y += rowHeight + rowGap;
  }
  out.push(
    `<line x1="${labelWidth}" y1="${firstRowY - 4}" x2="${labelWidth}" y2="${y - rowGap + 4}" stroke="#999"/>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
