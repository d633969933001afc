/**
 * A dependency-free icicle chart (a flame graph drawn from the top) in SVG, from folded stacks: the
 * root spans the whole width, each frame sits below its caller and is as wide as its share of the
 * samples; widths are labelled in µs of CPU per request. Colours tell the kind of frame.
 */
import { foldedTree, type Folded } from '../lib/folded.js';

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The kind of one frame, for its colour. */
function colour(frame: string, depth: number): string {
  const shade = (base: [number, number, number]) => {
    const k = (depth * 37) % 30;
    return `rgb(${Math.min(255, base[0] + k)},${Math.min(255, base[1] + k)},${Math.min(255, base[2] + k)})`;
  };
  if (/Scavenge|MarkCompact|Heap::|CollectGarbage|Sweeper|Marking|Evacuat/.test(frame))
    return shade([160, 120, 200]);
  if (frame.endsWith(' [k]')) return shade([220, 110, 90]);
  if (/node:[\w/]+:\d+/.test(frame)) return shade([100, 160, 220]);
  if (/\.(m?js|ts):\d+/.test(frame)) return shade([90, 180, 110]);
  return shade([215, 170, 80]);
}

/** Frames every main-thread stack starts with: left out of the chart (they only make it taller). */
const TRUNK =
  /^(_start|__libc_start_main.*|__libc_start_call_main|main|node::Start|node::NodeMainInstance::Run|node::SpinEventLoopInternal|v8::Function::Call|v8::internal::Execution::Call|v8::internal::\(anonymous namespace\)::Invoke|Builtins_JSEntry|Builtins_JSEntryTrampoline|node::InternalMakeCallback|node::AsyncWrap::MakeCallback|node::InternalCallbackScope::Close|node::MakeCallback)$/;

const withoutTrunk = (folded: Folded): Folded =>
  folded.map(([stack, n]) => [
    stack
      .split(';')
      .filter((f) => !TRUNK.test(f))
      .join(';'),
    n,
  ]);

export interface FlameChart {
  title: string;
  subtitle: string;
  folded: Folded;
  /** What the full width stands for, µs of CPU per request. */
  totalUs: number;
}

export function flameChart(chart: FlameChart): string {
  const width = 1200;
  const rowHeight = 17;
  const top = 78;
  const root = foldedTree(withoutTrunk(chart.folded));
  const total = Math.max(1, root.total);
  const scale = (width - 20) / total;
  const rects: string[] = [];
  let maxDepth = 0;
  const walk = (node: ReturnType<typeof foldedTree>, x: number, depth: number, name: string): void => {
    const w = node.total * scale;
    if (w < 0.5) return;
    maxDepth = Math.max(maxDepth, depth);
    const y = top + depth * rowHeight;
    const us = (node.total / total) * chart.totalUs;
    const pct = (100 * node.total) / total;
    const tip = `${name} — ${us.toFixed(1)} µs/request (${pct.toFixed(1)} %)`;
    rects.push(
      `<g><title>${escape(tip)}</title><rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0.5, w - 0.5).toFixed(1)}" height="${rowHeight - 1}" fill="${depth === 0 ? '#cccccc' : colour(name, depth)}"/>`,
    );
    const chars = Math.floor((w - 6) / 6.2);
    if (chars >= 4) {
      const label = name.length > chars ? `${name.slice(0, chars - 1)}…` : name;
      rects.push(`<text x="${(x + 3).toFixed(1)}" y="${y + 12}">${escape(label)}</text></g>`);
    } else rects[rects.length - 1] += '</g>';
    let cx = x;
    const children = [...node.children.entries()].sort((a, b) => b[1].total - a[1].total);
    for (const [childName, child] of children) {
      walk(child, cx, depth + 1, childName);
      cx += child.total * scale;
    }
  };
  walk(root, 10, 0, `all samples: ${chart.totalUs.toFixed(1)} µs of CPU per request`);
  const height = top + (maxDepth + 1) * rowHeight + 16;
  const legend = [
    ['JavaScript of Skiff and the function', colour('x.js:1', 0)],
    ['Node internals (node:*)', colour('node:net:1', 0)],
    ['V8, Node and libc native', colour('uv_run', 0)],
    ['GC', colour('Heap::Scavenge', 0)],
    ['kernel', colour('write [k]', 0)],
  ];
  let lx = 16;
  const legendSvg = legend.map(([name = '', fill = '']) => {
    const s = `<rect x="${lx}" y="54" width="12" height="12" fill="${fill}"/><text x="${lx + 16}" y="64" fill="#333">${escape(name)}</text>`;
    lx += 30 + name.length * 6.5;
    return s;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold" fill="#111">${escape(chart.title)}</text>`,
    `<text x="16" y="43" font-size="12" fill="#555">${escape(chart.subtitle)}</text>`,
    ...legendSvg,
    ...rects,
    '</svg>',
    '',
  ].join('\n');
}
