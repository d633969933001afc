/**
 * Red team (issue 17): a Baetyl 1.0 configuration's `service` names are free text to the import. A
 * service named `constructor` (a key every JS object has) failed the import with a 500 internal
 * error, and a name the service table refuses (`my service`) was only refused after every function
 * had been deployed (400, with the functions live and no service recorded). Both are now refused
 * up front as the configuration's fault (400 SKIFF_E_INVALID_SPEC) or, when valid, served.
 * Refused correctly (pinned): an upload whose codedir or configuration is a link out of it.
 * Fixed too: a handler such as `../../x/probe.handler` made the import look for `probe.js` outside the
 * upload (a dry run told whether a host file exists); only files below the codedir count now.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packDirectory } from '../../src/store/archive/index.js';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { tarGz } from '../helpers/archives.js';

let p: TestPlatform;
let dir: string;

async function importService(fn: string, service: string): Promise<Response> {
  const base = mkdtempSync(path.join(dir, 'import-'));
  mkdirSync(path.join(base, 'app'));
  writeFileSync(path.join(base, 'app', 'index.py'), 'def handler(event, context):\n    return "hi"\n');
  writeFileSync(
    path.join(base, 'service.yml'),
    `functions:\n  - { name: ${fn}, service: ${JSON.stringify(service)}, handler: index.handler, codedir: app, runtime: python3 }\n`,
  );
  return p.api('/v1/compat/baetyl/import?config=service.yml', {
    method: 'POST',
    headers: { 'content-type': 'application/gzip' },
    body: await packDirectory(base),
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-red2-services-'));
  p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

it('a service named like an object key (constructor) is a service like any other', async () => {
  const res = await importService('ctor', 'constructor');
  const text = await res.text();
  expect(res.status, text).toBe(201);
  expect(JSON.parse(text).services).toEqual({ constructor: ['ctor'] });
  const proxy = p.server.endpoints['baetyl-proxy'] as string;
  const call = await fetch(`${proxy}/constructor`, { method: 'POST', body: '{}' });
  expect(await call.text()).toBe('"hi"');
});

it('a service name the service table refuses is refused before anything is deployed', async () => {
  const res = await importService('spaced', 'my service');
  const text = await res.text();
  expect(res.status, text).toBe(400);
  expect(text).toContain('SKIFF_E_INVALID_SPEC');
  expect(text).toContain('functions[0].service');
  expect((await p.api('/v1/functions/spaced')).status).toBe(404);
});

it('an upload whose codedir or configuration is a link out of it deploys nothing', async () => {
  const module = Buffer.from(
    'functions:\n  - { name: linked, runtime: python3, handler: passwd.handler, codedir: app }\n',
  );
  for (const entries of [
    [
      { name: 'module.yml', data: module },
      { name: 'app', type: '2', linkpath: '/etc' },
    ],
    [
      { name: 'real.yml', data: module },
      { name: 'module.yml', type: '2', linkpath: '/etc/passwd' },
    ],
    [
      { name: 'module.yml', data: module },
      { name: 'app/', type: '5' },
      { name: 'app/passwd.py', type: '1', linkpath: '/etc/passwd' },
    ],
  ]) {
    const res = await p.api('/v1/compat/baetyl/import?config=module.yml', {
      method: 'POST',
      headers: { 'content-type': 'application/gzip' },
      body: tarGz(entries),
    });
    const text = await res.text();
    expect(res.status, text).toBeGreaterThanOrEqual(400);
    expect(res.status, text).toBeLessThan(500);
    expect(text).not.toContain('root:');
  }
  expect((await p.api('/v1/functions/linked')).status).toBe(404);
});

it('telling a function’s language never looks at files outside its codedir', async () => {
  // a file of the host, next to the folder the platform unpacks uploads into
  const outside = mkdtempSync(path.join(os.tmpdir(), 'skiff-red2-oracle-'));
  writeFileSync(path.join(outside, 'probe.js'), 'exports.handler = () => 1;\n');
  const base = mkdtempSync(path.join(dir, 'import-'));
  mkdirSync(path.join(base, 'app'));
  writeFileSync(path.join(base, 'app', 'index.py'), 'def handler(event, context):\n    return 1\n');
  const handler = `../../${path.basename(outside)}/probe.handler`;
  writeFileSync(
    path.join(base, 'module.yml'),
    `functions:\n  - { name: oracle, handler: ${JSON.stringify(handler)}, codedir: app }\n`,
  );
  const res = await p.api('/v1/compat/baetyl/import?config=module.yml&format=openedge&dryRun=true', {
    method: 'POST',
    headers: { 'content-type': 'application/gzip' },
    body: await packDirectory(base),
  });
  const text = await res.text();
  await removeDir(outside);
  expect(res.status, text).toBe(400);
  expect(text).toContain('cannot tell its runtime');
});
