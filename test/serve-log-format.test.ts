/**
 * `skiff serve`'s platform log: JSON lines when stderr is not a terminal (a pipe, a file, a collector),
 * text lines with `--log-format human` (what a terminal gets by default).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe } from './helpers/cli.js';
import { makeDataDir, removeDir } from './helpers/platform.js';

const dirs: string[] = [];
const ports = ['--control-port', '0', '--http-port', '0', '--listeners', 'none', '--sandbox', 'none'];

afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

async function logOf(args: string[]): Promise<string[]> {
  const dir = await makeDataDir();
  dirs.push(dir);
  const serve = startServe(['--data-dir', dir, ...ports, ...args], cleanEnv({}));
  try {
    await serve.waitForStdout('Press Ctrl+C', 20_000);
  } finally {
    await serve.stop();
  }
  return serve
    .stderr()
    .split('\n')
    .filter((l) => l.trim() !== '');
}

describe('skiff serve log format', () => {
  it('writes JSON lines to a pipe by default', async () => {
    const lines = await logOf([]);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    expect(lines.some((l) => (JSON.parse(l) as { msg?: string }).msg === 'skiff started')).toBe(true);
  }, 30_000);

  it('writes one text line per entry with --log-format human', async () => {
    const lines = await logOf(['--log-format', 'human']);
    const started = lines.find((l) => l.includes('skiff started'));
    expect(started).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}skiff started {2}endpoints=\{/);
    for (const line of lines) expect(line.startsWith('{'), line).toBe(false);
  }, 30_000);
});
