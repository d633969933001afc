/**
 * A JIT map (`/tmp/perf-<pid>.map`, written by Node's `--perf-basic-prof`) with its stale entries
 * removed. V8 appends a line for every code object it makes and never takes one back, so once code is
 * freed (a module's top-level function after it ran, flushed bytecode's trampolines) and its memory
 * holds newer code, two entries cover the same addresses and perf may name a sample after the dead
 * one (a module's `:1:1` under a request's stack). Here every address belongs to the newest entry that
 * covers it, which is what was running there at the end of the run.
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface Entry {
  start: bigint;
  end: bigint;
  name: string;
  order: number;
}

/** The map's text with every address named only by the newest entry covering it. */
export function compactPerfMap(text: string): string {
  const entries: Entry[] = [];
  for (const line of text.split('\n')) {
    const match = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.*)$/.exec(line);
    if (match === null) continue;
    const start = BigInt(`0x${match[1] ?? '0'}`);
    const size = BigInt(`0x${match[2] ?? '0'}`);
    if (size === 0n) continue;
    entries.push({ start, end: start + size, name: match[3] ?? '', order: entries.length });
  }
  // every boundary; between two neighbouring boundaries one entry (the newest covering) owns the range
  const bounds = [...new Set(entries.flatMap((e) => [e.start, e.end]))].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const byStart = [...entries].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const open = new MaxHeap();
  const out: string[] = [];
  let next = 0;
  let current: { owner: Entry; start: bigint; end: bigint } | undefined;
  const emit = () => {
    if (current === undefined) return;
    out.push(
      `${current.start.toString(16)} ${(current.end - current.start).toString(16)} ${current.owner.name}`,
    );
    current = undefined;
  };
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = bounds[i] as bigint;
    const to = bounds[i + 1] as bigint;
    while (next < byStart.length && (byStart[next] as Entry).start <= from)
      open.push(byStart[next++] as Entry);
    let owner = open.peek();
    while (owner !== undefined && owner.end <= from) {
      open.pop();
      owner = open.peek();
    }
    if (owner === undefined) {
      emit();
      continue;
    }
    if (current !== undefined && current.owner === owner && current.end === from) current.end = to;
    else {
      emit();
      current = { owner, start: from, end: to };
    }
  }
  emit();
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Rewrites a JIT map in place without its stale entries (nothing when it cannot be read). */
export function compactPerfMapFile(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  writeFileSync(file, compactPerfMap(text));
  return true;
}

/** Entries by `order`, the newest on top. */
class MaxHeap {
  private readonly items: Entry[] = [];

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(entry: Entry): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as Entry).order >= entry.order) break;
      items[i] = items[parent] as Entry;
      i = parent;
    }
    items[i] = entry;
  }

  pop(): void {
    const items = this.items;
    const last = items.pop();
    if (last === undefined || items.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && (items[right] as Entry).order > (items[left] as Entry).order ? right : left;
      if ((items[child] as Entry).order <= last.order) break;
      items[i] = items[child] as Entry;
      i = child;
    }
    items[i] = last;
  }
}
