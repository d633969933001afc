import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLogStore } from './file-logs.js';
import { waitFor } from '../../test/helpers/wait.js';

const MiB = 1024 * 1024;
const dirs: string[] = [];

/** A store without the rate limit (the disk's limits are tested), or with the one given. */
function store(rate = { bytesPerSec: Infinity, burstBytes: Infinity }): { logs: FileLogStore; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-logs-'));
  dirs.push(dir);
  return { logs: new FileLogStore(dir, rate), dir };
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const size = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

describe('function log files', () => {
  it('keep at most 10 MiB per function (two generations of 5 MiB)', async () => {
    const { logs, dir } = store();
    const message = 'x'.repeat(1000);
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 1000; i++) logs.append('f', { stream: 'stdout', level: 'info', message });
      await logs.tail('f', 1); // lets the file catch up, as a slow reader would
    }
    await logs.close();
    const total = size(path.join(dir, 'f.jsonl')) + size(path.join(dir, 'f.jsonl.1'));
    expect(total).toBeGreaterThan(5 * MiB);
    expect(total).toBeLessThanOrEqual(10 * MiB);
  });

  it('drop lines beyond 1 MiB waiting for the disk, and say how many', async () => {
    const { logs } = store();
    const message = 'y'.repeat(1000);
    for (let i = 0; i < 5000; i++) logs.append('g', { stream: 'stdout', level: 'info', message });
    await logs.tail('g', 1);
    logs.append('g', { stream: 'stdout', level: 'info', message: 'after' });
    const tail = await logs.tail('g', 2);
    expect(tail[0]?.message).toMatch(
      /^\d+ log lines dropped: the function logged faster than the disk writes$/,
    );
    expect(tail[1]?.message).toBe('after');
    await logs.close();
  });

  it('drop lines over the rate, say how many, and take lines again as the allowance refills', async () => {
    const { logs } = store({ bytesPerSec: 64 * 1024, burstBytes: 16 * 1024 });
    const message = 'r'.repeat(1000 - 128); // 1000 bytes a line, with the line's overhead
    for (let i = 0; i < 100; i++)
      logs.append('r', { stream: 'stdout', level: 'info', message: `${i} ${message}` });
    const written = (await logs.tail('r', 200)).map((l) => l.message);
    expect(written.length).toBe(16); // the burst: 16 lines of 1000 bytes
    const marker = await waitFor(
      'the rate marker',
      async () =>
        (await logs.tail('r', 1))[0]?.message.match(
          /^(\d+) log lines dropped: the function logged more than 64 KiB a second$/,
        ) ?? undefined,
      3_000,
    );
    expect(Number(marker[1])).toBe(84);
    logs.append('r', { stream: 'stdout', level: 'info', message: 'later' });
    expect((await logs.tail('r', 1))[0]?.message).toBe('later');
    await logs.close();
  });

  it('write the dropped-lines marker once the queue drained, even if no line follows', async () => {
    const { logs } = store();
    const message = 'z'.repeat(1000);
    for (let i = 0; i < 5000; i++) logs.append('k', { stream: 'stdout', level: 'info', message });
    const last = await waitFor(
      'the dropped-lines marker',
      async () => {
        const message = (await logs.tail('k', 1))[0]?.message;
        return message !== undefined && /dropped/.test(message) ? message : undefined;
      },
      2_000,
    );
    expect(last).toMatch(/^\d+ log lines dropped/);
    await logs.close();
  });

  it('never throw, whatever the entry or the disk', async () => {
    const { logs, dir } = store();
    rmSync(dir, { recursive: true, force: true });
    expect(() => logs.append('h', { stream: 'stdout', level: 'info', message: 'lost' })).not.toThrow();
    const odd = { stream: 'stdout', level: 'info', message: undefined } as unknown as { message: string };
    expect(() => logs.append('i', { stream: 'stdout', level: 'info', ...odd })).not.toThrow();
    await logs.close();
  });
});
