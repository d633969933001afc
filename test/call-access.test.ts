/**
 * `access.callers` in skiff.json: a function may list the functions allowed to `ctx.call` it. Calls
 * do not go through the gateway, so without it any function could reach a private one.
 */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { TMP_PREFIX } from './helpers/tmp.js';

/** The call-node fixture with `extra` merged into its skiff.json. */
async function callNodeWith(extra: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await cp(fixture('call-node'), dir, { recursive: true });
  await writeFile(path.join(dir, 'skiff.json'), JSON.stringify({ runtime: 'node', ...extra }));
  return dir;
}

describe('access.callers', () => {
  let p: TestPlatform;
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({ caller: 'call-node', other: 'call-node' });
    const guarded = await callNodeWith({ access: { callers: ['caller'] } });
    dirs.push(guarded);
    const res = await p.deploy('guarded', guarded);
    expect(res.status, await res.text()).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
    await removeDir(p.dataDir);
    for (const dir of dirs) await removeDir(dir);
  });

  it('lets a listed function call, and refuses another with SKIFF_E_FORBIDDEN', async () => {
    const ok = await p.call('/caller/ping?peer=guarded', { method: 'POST', body: 'x' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ function: 'guarded', trigger: 'call', caller: 'caller' });

    const refused = await p.call('/other/ping?peer=guarded', { method: 'POST', body: 'x' });
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe('SKIFF_E_FORBIDDEN');
    expect(body.message).toContain('guarded does not accept calls from other');
  });

  it('does not change who reaches the function through the gateway', async () => {
    const res = await p.call('/guarded/hello');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ function: 'guarded', trigger: 'http' });
  });

  it('refuses a skiff.json whose callers are not function names', async () => {
    const dir = await callNodeWith({ access: { callers: ['Not A Name'] } });
    dirs.push(dir);
    const res = await p.deploy('badaccess', dir);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SKIFF_E_INVALID_SPEC');
    expect(body.error.message).toContain('access.callers[0]');
  });
});
