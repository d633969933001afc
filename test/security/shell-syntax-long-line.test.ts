/**
 * Red team, shell scripts parsed at deploy (`bash -n`): bash quotes the line it cannot parse, so a
 * script with one long broken line could make a deploy error as long as the 1 MiB of output a build
 * step keeps. Held: the message names file and line and stays short (about 2 KB).
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderWith } from '../helpers/tmp.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

describe('a shell script with a long broken line', () => {
  let p: TestPlatform;
  let dir: string;
  beforeAll(async () => {
    p = await startPlatform();
    dir = await folderWith({
      'fn.sh': `#!/bin/bash\necho ${'a'.repeat(200_000)} )\n`,
      'skiff.json': JSON.stringify({ runtime: 'binary', handler: 'fn.sh' }),
    });
  }, 60_000);
  afterAll(async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails its deploy with a short message naming file and line', async () => {
    const res = await p.deploy('long', dir);
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(422);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SKIFF_E_BUILD_FAILED');
    expect(body.error.message).toContain('fn.sh:2:');
    expect(body.error.message.length).toBeLessThan(4096);
  }, 120_000);
});
