/**
 * `skiff fn deploy` and the upload limit: a folder over the platform's limit is refused before anything
 * is sent, with the size, the limit and its largest parts; `.skiffignore` makes it fit.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers/cli.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

let p: TestPlatform;
let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  p = await startPlatform({ config: { build: { maxUploadBytes: 256 * 1024 } } as never });
  env = cleanEnv({ SKIFF_HOME: p.dataDir });
  work = await makeDataDir();
});

afterAll(async () => {
  await p?.stop();
  if (p) await removeDir(p.dataDir);
  if (work) await removeDir(work);
});

describe('skiff fn deploy and the upload limit', () => {
  it('refuses a folder over the limit before sending it, naming the largest parts', async () => {
    const dir = path.join(work, 'heavy');
    await mkdir(path.join(dir, 'data'), { recursive: true });
    await writeFile(path.join(dir, 'index.mjs'), 'export default () => "light";\n');
    await writeFile(path.join(dir, 'data', 'blob.bin'), randomBytes(600 * 1024)); // random: gzip keeps it
    const r = await runCli(['fn', 'deploy', dir], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('code: SKIFF_E_ARCHIVE_TOO_LARGE');
    expect(r.stderr).toMatch(/the upload is 0\.\d MiB packed, over the platform's limit of 0\.3 MiB/);
    expect(r.stderr).toContain('nothing was sent; the largest parts: data/ 0.6 MiB');
    expect(r.stderr).toContain('.skiffignore');
    expect((await p.api('/v1/functions/heavy')).status).toBe(404);

    await writeFile(path.join(dir, '.skiffignore'), 'data/\n');
    const ok = await runCli(['fn', 'deploy', dir], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await (await p.call('/heavy')).text()).toBe('light');
  });
});
