/**
 * Rollback: an earlier ready version becomes live again without a build, through the API and the CLI;
 * a failed version or a missing one is refused with what to do.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers/cli.js';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

let p: TestPlatform;
let work: string;

async function version(answer: string): Promise<string> {
  const dir = path.join(work, answer);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'index.mjs'), `export default () => ${JSON.stringify(answer)};\n`);
  return dir;
}

beforeAll(async () => {
  p = await startPlatform();
  work = await makeDataDir();
});

afterAll(async () => {
  await p?.stop();
  if (p) await removeDir(p.dataDir);
  if (work) await removeDir(work);
});

describe('rollback', () => {
  it('makes the version before the live one live again, then any ready one given, never a failed one', async () => {
    for (const answer of ['one', 'two'])
      expect((await p.deploy('rb', await version(answer))).status).toBeLessThan(300);
    expect((await p.deploy('rb', fixture('broken-ts'))).status).toBe(422); // version 3 failed
    expect((await p.deploy('rb', await version('four'))).status).toBeLessThan(300);
    expect(await (await p.call('/rb')).text()).toBe('four');

    const back = await p.api('/v1/functions/rb/rollback', { method: 'POST' });
    expect(back.status, await back.clone().text()).toBe(200);
    expect(await back.json()).toMatchObject({ function: 'rb', from: 4, version: { version: 2, live: true } });
    expect(await (await p.call('/rb')).text()).toBe('two');
    const fn = (await (await p.api('/v1/functions/rb')).json()) as { function: { liveVersion: number } };
    expect(fn.function.liveVersion).toBe(2);

    const failed = await p.api('/v1/functions/rb/rollback', { method: 'POST', body: '{"version":3}' });
    expect(failed.status).toBe(400);
    expect(await failed.text()).toContain('version 3 of rb failed to build');
    const missing = await p.api('/v1/functions/rb/rollback', { method: 'POST', body: '{"version":9}' });
    expect(missing.status).toBe(404);
    const bad = await p.api('/v1/functions/rb/rollback', { method: 'POST', body: '{"version":"x"}' });
    expect(bad.status).toBe(400);

    const env = cleanEnv({ SKIFF_HOME: p.dataDir });
    const cli = await runCli(['fn', 'rollback', 'rb', '--to', '4'], env);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('rb: version 4 is live (was 2)');
    expect(await (await p.call('/rb')).text()).toBe('four');
    const first = await runCli(['fn', 'rollback', 'rb', '--to', '1', '--json'], env);
    expect(JSON.parse(first.stdout)).toMatchObject({ from: 4, version: { version: 1 } });
    expect(await (await p.call('/rb')).text()).toBe('one');
    const none = await runCli(['fn', 'rollback', 'rb'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('has no ready version before version 1');
  });
});
