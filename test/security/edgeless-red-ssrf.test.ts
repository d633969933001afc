/**
 * Red team, hostile TENANT: `grpc:<url>` makes Skiff dial any host and port, with no check against
 * the outbound policy (src/shared/outbound.ts) that callbacks and downloads obey. Loopback is the
 * feature's own default (instances on this machine), but a link-local address such as the cloud
 * metadata service (169.254.169.254) is never an EDGELESS instance: applying such a workflow makes
 * Skiff send HTTP/2 requests there every 10 ms for bootTimeoutMs, and the boot error (in the logs)
 * tells whether the port answered, which is a port scanner of the node's networks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform;

const workflow = (code: string) => ({
  functions: [
    {
      name: 'probe',
      class_specification: { id: 'probe', function_type: 'CONTAINER', version: '1', code, outputs: [] },
      output_mapping: {},
    },
  ],
  resources: [],
  annotations: {},
});

beforeAll(async () => {
  // a short boot window: the dialing stops soon whatever happens
  platform = await startPlatform({
    config: { compat: { edgeless: { enabled: true, bootTimeoutMs: 200 } } } as never,
  });
});

afterAll(async () => {
  await platform?.stop();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: attaching instances at link-local addresses', () => {
  for (const code of ['grpc:http://169.254.169.254:80', 'grpc:http://[fe80::1]:80']) {
    it(`refuses ${code} (outbound.allowPrivate is off)`, async () => {
      const res = await platform.api('/v1/workflows/ssrf', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(workflow(code)),
      });
      expect(res.status, `${code} was accepted: ${await res.text()}`).toBeGreaterThanOrEqual(400);
    });
  }
});
