/**
 * Stacks of a CPU profile, folded (`root;…;leaf` → samples), from `perf script` text: frame names
 * shortened (JIT markers, offsets and the repository's path dropped), kernel frames marked, and the
 * tree pruned so that a results file stays small (a frame below `minShare` of all samples is folded
 * into its parent as the parent's own time).
 */
import { ROOT } from './paths.js';

export type Folded = [stack: string, samples: number][];

/** One frame line of `perf script`: `addr symbol (dso)`. */
function frameName(line: string): string {
  const match = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
  if (match === null) return line.trim();
  const dso = match[2] ?? '';
  let symbol = match[1] ?? '';
  symbol = symbol.replace(/\+0x[0-9a-f]+$/, '');
  if (symbol === '[unknown]' || symbol === '') {
    const base = dso.split('/').pop() ?? dso;
    return `[unknown in ${base}]`;
  }
  if (dso.includes('kernel.kallsyms')) return `${symbol} [k]`;
  // V8's perf map: `JS:*name file:///…/x.js:12:3` (* optimized, ^ baseline, ~ interpreted)
  symbol = symbol.replace(/^(JS|LazyCompile|Function|Builtin|Eval|Script|RegExp):[*^~+]?/, '');
  if (symbol.startsWith(' ')) symbol = `(anonymous)${symbol}`;
  symbol = symbol.replace(/file:\/\/\S*/g, (url) => {
    const file = url.slice('file://'.length).replace(`${ROOT}/dist/`, '').replace(`${ROOT}/`, '');
    return file.replace(/^.*?\/node_modules\//, 'node_modules/').replace(/:(\d+):\d+$/, ':$1');
  });
  symbol = symbol.replace(/(node:[\w/]+:\d+):\d+/, '$1');
  // C++: drop argument lists, they make names long without telling more
  if (!symbol.includes(' ')) symbol = symbol.replace(/\(.*\)$/, '');
  symbol = symbol.replace(/;/g, ',');
  // some C++ names (templates of templates) run to hundreds of characters
  return symbol.length > 100 ? `${symbol.slice(0, 99)}…` : symbol;
}

/** Folds the text of `perf script` (one block per sample, leaf first) into stacks, root first. */
export function foldPerfScript(text: string): Folded {
  const counts = new Map<string, number>();
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    const header = lines[0];
    if (header === undefined || /^\s*[0-9a-f]+\s/.test(header)) continue;
    // `comm  pid  time: period event:` (the name may hold spaces): the thread's name is the root
    const comm =
      /^\s*(.+?)\s+\d+(?:\/\d+)?\s+[\d.]+:/.exec(header)?.[1] ?? header.trim().split(/\s+/)[0] ?? '?';
    const frames = lines.slice(1).map(frameName).reverse();
    const stack = [comm, ...frames].join(';');
    counts.set(stack, (counts.get(stack) ?? 0) + 1);
  }
  return [...counts.entries()];
}

interface Node {
  self: number;
  total: number;
  children: Map<string, Node>;
}

const newNode = (): Node => ({ self: 0, total: 0, children: new Map() });

export function foldedTree(folded: Folded): Node {
  const root = newNode();
  for (const [stack, samples] of folded) {
    let node = root;
    node.total += samples;
    for (const frame of stack.split(';')) {
      let child = node.children.get(frame);
      if (child === undefined) {
        child = newNode();
        node.children.set(frame, child);
      }
      child.total += samples;
      node = child;
    }
    node.self += samples;
  }
  return root;
}

/** Drops frames below `minShare` of all samples (their samples become their parent's own). */
export function pruneFolded(folded: Folded, minShare = 0.002): Folded {
  const root = foldedTree(folded);
  const min = root.total * minShare;
  const out: Folded = [];
  const walk = (node: Node, path: string[]): void => {
    let self = node.self;
    for (const [name, child] of node.children) {
      if (child.total < min) self += child.total;
      else walk(child, [...path, name]);
    }
    if (self > 0 && path.length > 0) out.push([path.join(';'), self]);
  };
  walk(root, []);
  return out.sort((a, b) => b[1] - a[1]);
}

/** The frames with the most samples of their own, with their share of all samples. */
export function topSelf(folded: Folded, n: number): { frame: string; share: number }[] {
  const total = folded.reduce((sum, [, c]) => sum + c, 0);
  const self = new Map<string, number>();
  for (const [stack, samples] of folded) {
    const leaf = stack.slice(stack.lastIndexOf(';') + 1);
    self.set(leaf, (self.get(leaf) ?? 0) + samples);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([frame, samples]) => ({ frame, share: total === 0 ? 0 : samples / total }));
}

export type Category = 'JavaScript' | 'Node internals' | 'V8 and native' | 'GC' | 'kernel';

/**
 * Which kind of work a stack's leaf frame is (GC anywhere on the stack wins): JavaScript of Skiff or
 * the function (a file of the repository or the function's code), Node's own JavaScript (`node:*`),
 * V8 (builtins, runtime, compiler) and other native code (Node's C++, libuv, libc), GC, the kernel.
 */
export function categoryOf(stack: string): Category {
  const leaf = stack.slice(stack.lastIndexOf(';') + 1);
  if (/Scavenge|MarkCompact|GCTracer|Heap::|CollectGarbage|Sweeper|Marking|Evacuat/.test(stack)) return 'GC';
  if (leaf.endsWith(' [k]')) return 'kernel';
  if (/\.(m?js|ts|py):\d+/.test(leaf) && !leaf.includes('node:')) return 'JavaScript';
  if (leaf.includes('node:')) return 'Node internals';
  return 'V8 and native';
}

/** Share of all samples per category. */
export function categories(folded: Folded): Record<Category, number> {
  const total = folded.reduce((sum, [, c]) => sum + c, 0) || 1;
  const out: Record<Category, number> = {
    JavaScript: 0,
    'Node internals': 0,
    'V8 and native': 0,
    GC: 0,
    kernel: 0,
  };
  for (const [stack, samples] of folded) out[categoryOf(stack)] += samples / total;
  return out;
}

/**
 * A pruned profile as stored in a results file: each frame name once, and each stack as its frames'
 * indexes and its samples (`"0;4;17 12"`), one short line per stack even in pretty-printed JSON.
 */
export interface CompactStacks {
  frames: string[];
  stacks: string[];
}

export function compactStacks(folded: Folded): CompactStacks {
  const frames: string[] = [];
  const index = new Map<string, number>();
  const id = (name: string): number => {
    let i = index.get(name);
    if (i === undefined) {
      i = frames.length;
      frames.push(name);
      index.set(name, i);
    }
    return i;
  };
  const stacks = folded.map(([stack, samples]) => `${stack.split(';').map(id).join(';')} ${samples}`);
  return { frames, stacks };
}

export function expandStacks(compact: CompactStacks): Folded {
  return compact.stacks.map((line): [string, number] => {
    const [path = '', samples = '0'] = line.split(' ');
    const names = path.split(';').map((i) => compact.frames[Number(i)] ?? '?');
    return [names.join(';'), Number(samples)];
  });
}
