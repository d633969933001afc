/**
 * Red team 2, hostile TENANT with the admin API: names a deleted EDGELESS workflow takes back.
 *
 * The dialect keeps each applied workflow in `<dataDir>/edgeless/workflows/<name>.json` and, at every
 * start, commits it again (`EdgelessNode.restore`) without asking the core's workflow store whether the
 * workflow still exists, nor whether its member names are now deployed functions. A workflow deleted
 * while the dialect was switched off (the core store forgets it; no format is asked to release it)
 * comes back at the next start with `--edgeless`: its members are served again, the router asks
 * external targets first, so a function deployed meanwhile under a member's name is shadowed, and the
 * names can never be freed (`DELETE /v1/workflows/<name>` answers 404: the core knows no such workflow).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

const ON = { compat: { edgeless: { enabled: true, bootTimeoutMs: 500 } } } as never;

const workflow = {
  functions: [
    {
      name: 'nobody',
      class_specification: {
        id: 'nobody',
        function_type: 'CONTAINER',
        version: '1',
        code: 'grpc:http://127.0.0.1:9',
        outputs: [],
      },
      output_mapping: {},
    },
  ],
  resources: [
    {
      name: 'audit',
      class_type: 'file-log',
      output_mapping: {},
      configurations: { filename: 'audit.log' },
    },
  ],
  annotations: {},
};

let dataDir = '';
let platform: TestPlatform | undefined;

afterAll(async () => {
  await platform?.stop();
  if (dataDir !== '') await removeDir(dataDir);
});

describe('red2: an EDGELESS workflow deleted while the dialect was off', () => {
  it('does not come back at the next start and shadow the function deployed under its member name', async () => {
    dataDir = await makeDataDir();
    platform = await startPlatform({ dataDir, config: ON });
    const put = await platform.api('/v1/workflows/stale', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(workflow),
    });
    expect(put.status).toBe(201);
    await platform.stop();

    // the dialect off: the workflow is deleted, and its member's name is deployed as a function
    platform = await startPlatform({ dataDir });
    expect((await platform.api('/v1/workflows/stale', { method: 'DELETE' })).status).toBe(204);
    const deployed = await platform.deploy('stale--audit', fixture('py-echo'));
    expect(deployed.status).toBe(201);
    expect((await platform.call('/stale--audit', { method: 'POST', body: 'hi' })).status).toBe(200);
    await platform.stop();

    // the dialect on again
    platform = await startPlatform({ dataDir, config: ON });
    expect((await platform.api('/v1/workflows/stale')).status).toBe(404);
    const res = await platform.call('/stale--audit', { method: 'POST', body: 'hi' });
    const text = await res.text();
    // the deleted workflow's file-log answers 403 here: the tenant's function is unreachable
    expect(res.status, text).toBe(200);
    await platform.stop();
    platform = undefined;
  }, 60_000);
});
