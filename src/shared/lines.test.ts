import { describe, expect, it } from 'vitest';
import { CUT_MARKER, LineSplitter, capText } from './lines.js';

function split(chunks: string[], max?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), max);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return lines;
}

describe('line splitting', () => {
  it('splits lines across chunks and passes on a last line without a newline', () => {
    expect(split(['a\nb', 'c\n\nd'])).toEqual(['a', 'bc', '', 'd']);
  });

  it('cuts a long line once, with a marker, and drops the rest up to its newline', () => {
    expect(split(['abcdefgh', 'ijk\nxy\n'], 4)).toEqual([`abcd${CUT_MARKER}`, 'xy']);
    expect(split(['abcd\n'], 4)).toEqual(['abcd']);
  });

  it('stays linear for a huge line without newlines', () => {
    const chunk = 'x'.repeat(64 * 1024);
    const started = performance.now();
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    for (let i = 0; i < 3200; i++) splitter.push(chunk); // 200 MiB
    splitter.end();
    expect(lines).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('keeps going when the consumer throws', () => {
    let calls = 0;
    const splitter = new LineSplitter(() => {
      calls++;
      throw new Error('consumer');
    });
    splitter.push('a\nb\n');
    expect(calls).toBe(2);
  });

  it('caps texts by bytes with a marker', () => {
    expect(capText('short', 10)).toBe('short');
    expect(capText(Buffer.from('abcdefgh'), 4)).toBe('abcd … [cut: 4 more bytes]');
    expect(capText('é'.repeat(10), 4)).toBe('éé … [cut: 16 more bytes]');
  });
});
