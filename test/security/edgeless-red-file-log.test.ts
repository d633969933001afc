/**
 * Red team, hostile TENANT: the `file-log` size cap (compat.edgeless.maxFileLogBytes) must hold per
 * file, however many resources name it (several resources naming one `filename` each counted only
 * their own writes once), and a workflow must not write lines into another workflow's log file.
 * Events reach a resource only from its workflow's members: here a hostile guest's host Casts.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

const CAP = 1024;
const RESOURCES = 4;
let platform: TestPlatform;
const guests: HostileGuest[] = [];

const member = (url: string, mapping: Record<string, string>) => ({
  name: 'g',
  class_specification: {
    id: 'g',
    function_type: 'CONTAINER',
    version: '1',
    code: `grpc:${url}`,
    outputs: [],
  },
  output_mapping: mapping,
});
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
/** A guest attached as member `g` of a new workflow, booted and initialised. */
async function attached(workflow: string, mapping: Record<string, string>, resources: unknown[]) {
  const guest = await startHostileGuest();
  guests.push(guest);
  expect((await put(workflow, { functions: [member(guest.url, mapping)], resources })).status).toBe(201);
  await waitFor('Init', () => guest.seen.find((s) => s.method === 'Init'));
  const cast = (alias: string, msg: Buffer) =>
    guest.host('Cast', { originator: guest.boot()?.id, alias, msg: msg });
  return { guest, cast };
}
const fileOf = (workflow: string, name: string) =>
  path.join(platform.dataDir, 'edgeless', 'file-log', workflow, name);

beforeAll(async () => {
  platform = await startPlatform({
    config: { compat: { edgeless: { enabled: true, maxFileLogBytes: CAP } } } as never,
  });
});

afterAll(async () => {
  await platform?.stop();
  for (const guest of guests) await guest.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: file-log resources sharing one file', () => {
  it('one file never grows past maxFileLogBytes, however many resources name it', async () => {
    const mapping = Object.fromEntries(Array.from({ length: RESOURCES }, (_, i) => [`o${i}`, `l${i}`]));
    const resources = Array.from({ length: RESOURCES }, (_, i) => log(`l${i}`, 'shared.log'));
    const { cast } = await attached('many', mapping, resources);
    // every resource writes once (each would take the file's size then), then each a big line
    for (let i = 0; i < RESOURCES; i++) await cast(`o${i}`, Buffer.from('x'));
    for (let i = 0; i < RESOURCES; i++) await cast(`o${i}`, Buffer.alloc(CAP - 100, 0x61));
    const file = fileOf('many', 'shared.log');
    await waitFor('the first lines', async () => ((await stat(file).catch(() => undefined))?.size ?? 0) > 0);
    // the casts are queued: give every one the time to be delivered
    await waitFor('every cast delivered', async () => {
      const res = await platform.api('/v1/invocations?limit=100');
      const { invocations } = (await res.json()) as { invocations: { status: string }[] };
      return (
        invocations.length >= 2 * RESOURCES &&
        invocations.every((i) => i.status !== 'queued' && i.status !== 'running')
      );
    });
    const { size } = await stat(file);
    expect(size, `shared.log holds ${size} bytes, the cap is ${CAP}`).toBeLessThanOrEqual(CAP);
  });

  it("a workflow cannot append lines to another workflow's log file", async () => {
    const owner = await attached('owner', { o: 'audit' }, [log('audit', 'owner-audit.log')]);
    await owner.cast('o', Buffer.from('owner line'));
    await waitFor('the owner line', async () =>
      (await readFile(fileOf('owner', 'owner-audit.log'), 'utf8').catch(() => '')).includes('owner line'),
    );
    // the same filename, and paths that try to climb into the owner's folder
    for (const filename of [
      'owner-audit.log',
      '../owner/owner-audit.log',
      fileOf('owner', 'owner-audit.log'),
    ]) {
      const workflow = `forger-${guests.length}`;
      const guest = await startHostileGuest();
      guests.push(guest);
      const res = await put(workflow, {
        functions: [member(guest.url, { o: 'audit' })],
        resources: [log('audit', filename)],
      });
      if (res.status >= 300) continue;
      await waitFor('Init', () => guest.seen.find((s) => s.method === 'Init'));
      await guest.host('Cast', {
        originator: guest.boot()?.id,
        alias: 'o',
        msg: Buffer.from('FORGED audit line'),
      });
    }
    // what the forgers cast has had time to land (the owner's next line comes after theirs)
    await owner.cast('o', Buffer.from('owner again'));
    const text = await waitFor('the second owner line', async () => {
      const t = await readFile(fileOf('owner', 'owner-audit.log'), 'utf8').catch(() => '');
      return t.includes('owner again') ? t : undefined;
    });
    expect(text, "a forger wrote into the file of workflow 'owner'").not.toContain('FORGED');
  });
});
