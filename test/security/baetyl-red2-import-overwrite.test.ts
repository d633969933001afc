/**
 * Red team (issue 17): the Baetyl import deploys each function by its configuration's name, with
 * "upsert". A module.yml (someone else's, downloaded) naming an existing function that is not a
 * Baetyl / OpenEdge one silently replaced its code, handler, flavor, env and triggers. The import now
 * refuses (409 SKIFF_E_CONFLICT) before deploying anything; re-importing its own functions (either
 * generation) still makes new versions.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packDirectory } from '../../src/store/archive/index.js';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
let dir: string;

const MODULE = (names: string[]) =>
  `functions:\n${names.map((n) => `  - { name: ${n}, runtime: python36, handler: index.handler, codedir: app }\n`).join('')}`;

async function importModule(names: string[], dryRun = false): Promise<Response> {
  const base = mkdtempSync(path.join(dir, 'import-'));
  mkdirSync(path.join(base, 'app'));
  writeFileSync(path.join(base, 'app', 'index.py'), 'def handler(event, context):\n    return "imported"\n');
  writeFileSync(path.join(base, 'module.yml'), MODULE(names));
  const body = await packDirectory(base);
  return p.api(`/v1/compat/baetyl/import?config=module.yml${dryRun ? '&dryRun=true' : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/gzip' },
    body,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-red2-import-'));
  p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
  await p.deployAll({ victim: 'bin-echo' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

it('refuses to replace an existing function that is not a Baetyl one, and deploys nothing', async () => {
  const before = await (await p.call('/victim', { method: 'POST', body: 'still mine' })).text();
  for (const dryRun of [true, false]) {
    const res = await importModule(['fresh', 'victim'], dryRun);
    const text = await res.text();
    expect(res.status, text).toBe(409);
    expect(text).toContain('SKIFF_E_CONFLICT');
    expect(text).toContain('victim');
  }
  expect((await p.api('/v1/functions/fresh')).status).toBe(404);
  expect(await (await p.call('/victim', { method: 'POST', body: 'still mine' })).text()).toBe(before);
});

it('re-imports its own functions', async () => {
  expect((await importModule(['again'])).status).toBe(201);
  const res = await importModule(['again']);
  expect(res.status, await res.clone().text()).toBe(201);
  const result = (await res.json()) as { functions: { version?: number }[] };
  expect(result.functions[0]?.version).toBe(2);
});

it('reads at most 16 runtime configuration files (each up to 1 MiB, all in memory at once)', async () => {
  const query = Array.from({ length: 17 }, () => 'runtimeConfig=module.yml').join('&');
  const res = await p.api(`/v1/compat/baetyl/import?config=module.yml&${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/gzip' },
    body: Buffer.alloc(0),
  });
  const text = await res.text();
  expect(res.status, text).toBe(400);
  expect(text).toContain('at most 16 runtimeConfig');
});
