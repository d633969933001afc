import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLogStore } from './file-logs.js';

const dirs: string[] = [];
const open = (dir?: string): { logs: FileLogStore; dir: string } => {
  const d = dir ?? mkdtempSync(path.join(os.tmpdir(), 'skiff-test-logpos-'));
  if (dir === undefined) dirs.push(d);
  return { logs: new FileLogStore(d, { bytesPerSec: Infinity, burstBytes: Infinity }), dir: d };
};

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const line = (i: number) => ({
  stream: 'stdout' as const,
  level: 'info',
  message: `line ${i} ${'x'.repeat(16_000)}`,
});

/** Appends lines `from`..`to` - 1, letting the file catch up every 50 (as the platform's turns do). */
async function appendAll(logs: FileLogStore, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    logs.append('f', line(i));
    if (i % 50 === 49) await logs.tail('f', 1);
  }
}

describe('positions of log lines (the ids of followed logs)', () => {
  it('resume exactly across a rotation and a restart of the store', async () => {
    const { logs, dir } = open();
    const seen: { offset: number; text: string }[] = [];
    logs.listen({
      appended: (_fn, offset, text) => void seen.push({ offset, text }),
      removed: () => undefined,
    });
    // 400 lines of 16 KB: more than the 5 MiB of one file, so the file rotates once
    await appendAll(logs, 0, 400);
    expect(existsSync(path.join(dir, 'f.jsonl.1'))).toBe(true);
    const before = seen.find((s) => s.text.includes('"line 150 '));
    const id = (before?.offset ?? 0) + Buffer.byteLength(before?.text ?? '');
    const range = await logs.range('f', id, 16 * 1024 * 1024);
    expect(range.lines.map((l) => l.entry.message.split(' ')[1])).toEqual(
      Array.from({ length: 249 }, (_, k) => String(151 + k)),
    );
    // each line's id is the offset of its end, as the append hook said
    expect(range.lines[0]?.end).toBe(
      id + Buffer.byteLength(seen.find((s) => s.text.includes('"line 151 '))?.text ?? ''),
    );
    await logs.close();

    // a new store on the same folder (the platform restarted) knows the same positions
    const again = open(dir).logs;
    const resumed = await again.range('f', id, 16 * 1024 * 1024);
    expect(resumed.lines.map((l) => l.end)).toEqual(range.lines.map((l) => l.end));
    again.append('f', line(400));
    const next = await again.range('f', range.end, 1024 * 1024);
    expect(next.lines.map((l) => l.entry.message.split(' ')[1])).toEqual(['400']);
    await again.close();
  });

  it('say where the kept log begins when an id is older than it', async () => {
    const { logs } = open();
    await appendAll(logs, 0, 1000); // 16 MB: two rotations
    const range = await logs.range('f', 0, 64 * 1024 * 1024);
    expect(range.earliest).toBeGreaterThan(0);
    expect(range.readFrom).toBe(range.earliest);
    expect(range.lines[0]?.entry.message).toMatch(/^line \d+ /);
    expect(range.lines.at(-1)?.entry.message).toMatch(/^line 999 /);
    await logs.close();
  });
});
