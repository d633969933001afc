/**
 * Red team, hostile TENANT: the `file-log` size cap (compat.edgeless.maxFileLogBytes) is kept per
 * resource object, not per file. Several resources naming the same `filename` (in one workflow or in
 * several) each count only their own writes from the size they saw first, so one file grows past the
 * cap by the number of resources; and a workflow writes lines into another workflow's log file.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

const CAP = 1024;
const RESOURCES = 4;
let platform: TestPlatform;

const nobody = {
  name: 'nobody',
  class_specification: {
    id: 'nobody',
    function_type: 'CONTAINER',
    version: '1',
    code: 'grpc:http://127.0.0.1:9',
    outputs: [],
  },
  output_mapping: {},
};
const log = (name: string, filename: string) => ({
  name,
  class_type: 'file-log',
  output_mapping: {},
  configurations: { filename },
});
const put = (name: string, body: unknown) =>
  platform.api(`/v1/workflows/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ annotations: {}, ...(body as object) }),
  });

beforeAll(async () => {
  platform = await startPlatform({
    config: { compat: { edgeless: { enabled: true, maxFileLogBytes: CAP } } } as never,
  });
});

afterAll(async () => {
  await platform?.stop();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: file-log resources sharing one file', () => {
  it('one file never grows past maxFileLogBytes, however many resources name it', async () => {
    const resources = Array.from({ length: RESOURCES }, (_, i) => log(`l${i}`, 'shared.log'));
    const res = await put('many', { functions: [nobody], resources });
    if (res.status >= 400) return; // refusing resources that share a file closes the hole too
    // every resource writes once (each takes the file's size then), then each writes a big line
    for (let i = 0; i < RESOURCES; i++) {
      const sent = await platform.call(`/many--l${i}`, { method: 'POST', body: 'x' });
      expect(sent.status).toBe(204);
    }
    const line = Buffer.alloc(CAP - 100, 0x61);
    for (let i = 0; i < RESOURCES; i++) {
      const sent = await platform.call(`/many--l${i}`, { method: 'POST', body: line });
      expect(sent.status).toBe(204);
    }
    const file = path.join(platform.dataDir, 'edgeless', 'file-log', 'shared.log');
    const { size } = await stat(file);
    expect(size, `shared.log holds ${size} bytes, the cap is ${CAP}`).toBeLessThanOrEqual(CAP);
  });

  it("a workflow cannot append lines to another workflow's log file", async () => {
    expect(
      (await put('owner', { functions: [nobody], resources: [log('audit', 'owner-audit.log')] })).status,
    ).toBe(201);
    const res = await put('forger', { functions: [nobody], resources: [log('audit', 'owner-audit.log')] });
    let forged = false;
    if (res.status < 300) {
      const sent = await platform.call('/forger--audit', { method: 'POST', body: 'FORGED audit line' });
      forged = sent.status === 204;
    }
    expect(forged, "workflow 'forger' wrote into the file of workflow 'owner'").toBe(false);
  });
});
