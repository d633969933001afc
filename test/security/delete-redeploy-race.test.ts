/**
 * A delete and a deploy of the same name, one right after the other: the deploy waits for the
 * delete's files to be gone. Before, the delete dropped the record, then waited for an in-flight call
 * to drain while the new deploy made its version, and then removed the function's folder with the new
 * version in it: the function answered 201 and then failed every call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitUntil } from '../helpers/wait.js';

describe('delete then redeploy of one name', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({ racer: 'sleepy' });
  }, 60_000);

  afterAll(async () => {
    await p.stop();
  });

  it('keeps the new version whole while the old one drains', async () => {
    const inFlight = p.call('/racer?ms=1500');
    // the call is running before the delete starts
    await waitUntil(
      'the call to be in flight',
      async () => {
        const res = await p.api('/v1/functions/racer');
        const body = (await res.json()) as { function?: { status?: { inFlight?: number } } };
        return (body.function?.status?.inFlight ?? 0) > 0;
      },
      5000,
    );
    const removed = p.api('/v1/functions/racer', { method: 'DELETE' });
    const redeployed = p.deploy('racer', fixture('sleepy'));
    expect((await removed).status).toBe(204);
    expect((await redeployed).status).toBe(201);
    await inFlight;
    const after = await p.call('/racer');
    expect(after.status, await after.clone().text()).toBe(200);
    expect(((await after.json()) as { version: number }).version).toBe(1);
  }, 30_000);
});
