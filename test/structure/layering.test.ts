import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

/** Runs a command in the repository; returns its exit code and output instead of throwing. */
async function attempt(file: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: root, encoding: 'utf8' });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('the layering of src/ (.dependency-cruiser.cjs)', () => {
  it('has no import cycle between top-level modules and no import in a forbidden direction', async () => {
    const { code, output } = await attempt(`${root}node_modules/.bin/depcruise`, [
      'src',
      '--config',
      '.dependency-cruiser.cjs',
      '--output-type',
      'err',
    ]);
    expect(output).toMatch(/no dependency violations found|dependency violations/);
    expect(code, output).toBe(0);
  });

  it('keeps the module graph in docs/architecture.md as the tool draws it', async () => {
    const { code, output } = await attempt(process.execPath, ['scripts/module-graph.mjs', '--check']);
    expect(code, output).toBe(0);
  });
});
