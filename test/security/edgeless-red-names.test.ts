/**
 * Red team, hostile TENANT with the admin API: taking over the name of a deployed function.
 *
 * 1. The workflow route treats every member of the workflow's earlier spec as "its own" name
 *    (`owned`), but a Skiff-format workflow's members are deployed functions. Apply a Skiff-format
 *    workflow `wf` whose member is the deployed function `wf--x`, then re-apply `wf` as EDGELESS JSON
 *    with a member `x`: the EDGELESS member is served as `wf--x`, and the router (which asks external
 *    targets first) now sends every request for the deployed function to the attacker's member.
 * 2. The function routes never ask whether an EDGELESS member holds a name: deploying `demo--audit`
 *    while workflow `demo` serves it is accepted (201) but the function is unreachable (shadowed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform;

const json = (body: unknown): RequestInit => ({
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** An EDGELESS workflow of one file-log resource named `member` (and an instance nobody serves). */
const fileLogOnly = (member: string) => ({
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
      name: member,
      class_type: 'file-log',
      output_mapping: {},
      configurations: { filename: `${member}.log` },
    },
  ],
  annotations: {},
});

beforeAll(async () => {
  platform = await startPlatform({ config: { compat: { edgeless: { enabled: true } } } as never });
});

afterAll(async () => {
  await platform?.stop();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: member names taking over deployed functions', () => {
  it('re-applying a Skiff-format workflow as EDGELESS JSON cannot take over its deployed member', async () => {
    expect((await platform.deploy('wf--x', fixture('py-echo'))).status).toBe(201);
    const before = await platform.call('/wf--x', { method: 'POST', body: 'hi' });
    expect(before.status).toBe(200);
    // step 1: a Skiff workflow naming the victim function as a member (legitimate on its own)
    const skiff = await platform.api('/v1/workflows/wf', json({ functions: { 'wf--x': {} } }));
    expect(skiff.status).toBe(201);
    // step 2: the same workflow name, now EDGELESS, with a member whose Skiff name is wf--x
    const edgeless = await platform.api('/v1/workflows/wf', json(fileLogOnly('x')));
    const after = await platform.call('/wf--x', { method: 'POST', body: 'stolen' });
    expect(
      {
        apply: edgeless.status,
        served: after.status,
        byEdgeless: after.headers.get('x-edgeless-call-ret') !== null,
      },
      'the EDGELESS workflow took over the deployed function wf--x',
    ).toEqual({ apply: 409, served: 200, byEdgeless: false });
  });

  it('deploying a function under a name an EDGELESS member serves is refused, not silently shadowed', async () => {
    const applied = await platform.api('/v1/workflows/demo', json(fileLogOnly('audit')));
    expect(applied.status).toBe(201);
    const deployed = await platform.deploy('demo--audit', fixture('py-echo'));
    const status = deployed.status;
    const call = await platform.call('/demo--audit', { method: 'POST', body: 'who answers?' });
    // either the deploy is refused, or the function it created is what answers
    expect(
      status === 409 || (status === 201 && call.headers.get('x-edgeless-call-ret') === null),
      `deploy answered ${status}, and the name is still served by the EDGELESS member (${call.status})`,
    ).toBe(true);
  });
});
