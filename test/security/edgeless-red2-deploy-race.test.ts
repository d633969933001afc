/**
 * Red team 2, hostile TENANT (deploys) racing the workflow API: one name, two owners.
 *
 * "A function cannot be deployed under a name a workflow member holds" (docs/security.md): the
 * deployer asks the external targets once, when the deploy begins; the build, the code's commit and
 * the executor's preparation follow (awaits), and the version is recorded at the end without asking
 * again. The workflow route asks whether a *deployed* function holds the name (the registry), which it
 * does not until that end. An EDGELESS workflow applied in between takes the name too: both answer
 * 201, the router serves the member (the function is shadowed), and deleting the workflow deletes
 * the state under that name (`forget`): the function's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packDirectory } from '../../src/store/archive/pack.js';
import { edgelessWorkflow, putWorkflow } from '../helpers/edgeless-guests.js';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform;
/** py-echo with 3000 small files: a deploy whose extraction and hashing take a moment. */
let code = '';

beforeAll(async () => {
  platform = await startPlatform({
    config: { compat: { edgeless: { enabled: true, bootTimeoutMs: 200 } } } as never,
  });
  code = await makeDataDir();
  await cp(fixture('py-echo'), code, { recursive: true });
  await mkdir(path.join(code, 'data'));
  for (let i = 0; i < 3000; i++) await writeFile(path.join(code, 'data', `f${i}`), randomBytes(512));
}, 60_000);

afterAll(async () => {
  await platform.stop();
  await removeDir(platform.dataDir);
  if (code !== '') await removeDir(code);
});

/** A workflow `wf<i>` whose file-log resource is served as `wf<i>--x`. */
const workflow = (i: number) =>
  edgelessWorkflow(
    [{ name: 'nobody', code: `grpc:http://127.0.0.1:${9 + i}` }],
    [{ name: 'x', filename: 'x.log' }],
  );

describe('red2: deploying a function while a workflow takes its name', () => {
  it('never lets both take the name', async () => {
    const both: string[] = [];
    const archive = await packDirectory(code);
    // the deploy's window is found by trying a few delays (bounded)
    for (const [i, delayMs] of [20, 60, 120].entries()) {
      const name = `wf${i}--x`;
      const deploying = platform.api(`/v1/functions/${name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/gzip' },
        body: archive,
      });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const applied = await putWorkflow(platform, `wf${i}`, workflow(i));
      const deployed = await deploying;
      if (applied.status === 201 && deployed.status === 201) both.push(`${name} (after ${delayMs} ms)`);
      await applied.body?.cancel();
      await deployed.body?.cancel();
    }
    if (both.length > 0) {
      // what it costs: the function is shadowed, and its state goes with the workflow
      const name = both[0]!.split(' ')[0]!;
      const put = await platform.api(`/v1/functions/${name}/state/k`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: 'kept',
      });
      await platform.api(`/v1/workflows/${name.split('--')[0]!}`, { method: 'DELETE' });
      const state = await platform.api(`/v1/functions/${name}/state/k`);
      both.push(`state k set (${put.status}), then after the workflow's delete: ${state.status}`);
    }
    expect(both).toEqual([]);
  }, 60_000);
});
