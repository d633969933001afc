/**
 * What a Baetyl gRPC client may make the platform carry. The fields the handler's context is made
 * of (a v1 message's Topic and FunctionInvokeID, a v2 message's Metadata) were copied into the
 * `baetyl-context` header whatever their size: a 4 MiB Metadata map cost a second of the platform's
 * event loop per call and a header no function's HTTP server takes. They are capped as Skiff's own
 * gRPC service caps a call's headers (64 KiB), and refused with INVALID_ARGUMENT; under the cap a
 * call goes through.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { baetylClients } from './baetyl-red-client.js';

let p: TestPlatform;
let grpc: ReturnType<typeof baetylClients>;

beforeAll(async () => {
  p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
  expect((await p.deploy('echo', fixture('echo-cjs'))).status).toBe(201);
  grpc = baetylClients(p);
}, 60_000);

afterAll(async () => {
  grpc?.close();
  await p?.stop();
  if (p !== undefined) await removeDir(p.dataDir);
});

function manyEntries(n: number): Record<string, string> {
  const out: Record<string, string> = { functionName: 'echo' };
  for (let i = 0; i < n; i++) out[`k${i}`] = 'v';
  return out;
}

describe('a context of megabytes', () => {
  it.each([
    [
      'a Metadata map of 300 000 entries',
      'faas',
      { Metadata: manyEntries(300_000), Payload: Buffer.from('x') },
    ],
    [
      'one Metadata value of 3 MB',
      'faas',
      { Metadata: { functionName: 'echo', x: 'y'.repeat(3_000_000) }, Payload: Buffer.from('x') },
    ],
    [
      'a Topic of 1 MB',
      'baetyl',
      { FunctionName: 'echo', Topic: 't'.repeat(1_000_000), Payload: Buffer.from('x') },
    ],
    [
      'a FunctionInvokeID of 1 MB',
      'openedge',
      { FunctionName: 'echo', FunctionInvokeID: 'i'.repeat(1_000_000), Payload: Buffer.from('x') },
    ],
  ] as const)('is refused without calling the function: %s', async (_, service, request) => {
    const answer = await grpc.call(service, request);
    expect(answer.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(answer.err?.details).toMatch(/context .* more than 65536 characters/);
    expect(answer.err?.metadata.get('skiff-error-code')).toEqual(['SKIFF_E_INVALID_REQUEST']);
  });

  it('goes through under the cap', async () => {
    const answer = await grpc.call('faas', { Metadata: manyEntries(1000), Payload: Buffer.from('x') });
    expect(answer.err).toBeNull();
    const seen = JSON.parse(answer.payload?.toString() ?? '{}') as { headers: Record<string, string> };
    expect(Object.keys(JSON.parse(seen.headers['baetyl-context'] ?? '{}') as object)).toHaveLength(1001);
  });
});
