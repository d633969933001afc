/**
 * Traffic split: two ready versions share a function's calls by their percents (checked over 1,000
 * calls), both started before the split goes live; `fn get` shows it, logs carry the version that
 * served, it survives a restart, a deploy or a rollback ends it; malformed splits are refused with
 * stable codes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers/cli.js';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

let p: TestPlatform;
let work: string;

interface Detail {
  function: {
    liveVersion: number;
    traffic: { version: number; percent: number }[];
    instances: { version: number; state: string }[];
  };
}

async function version(answer: string): Promise<string> {
  const dir = path.join(work, answer);
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'index.mjs'),
    `export default () => { console.log('served by ${answer}'); return ${JSON.stringify(answer)}; };\n`,
  );
  return dir;
}

/** `n` calls (at most 25 at a time, within 60 s), counted by the body (the version's answer). */
async function tally(route: string, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const deadline = Date.now() + 60_000;
  for (let done = 0; done < n;) {
    expect(Date.now(), `${done} of ${n} calls within 60 s`).toBeLessThan(deadline);
    const batch = Math.min(25, n - done);
    const bodies = await Promise.all(
      Array.from({ length: batch }, async () => {
        const res = await p.call(route);
        return res.status === 200 ? await res.text() : `status ${res.status}`;
      }),
    );
    for (const body of bodies) counts[body] = (counts[body] ?? 0) + 1;
    done += batch;
  }
  return counts;
}

const put = (name: string, body: unknown) =>
  p.api(`/v1/functions/${name}/traffic`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const detail = async (name: string) => (await (await p.api(`/v1/functions/${name}`)).json()) as Detail;

beforeAll(async () => {
  p = await startPlatform();
  work = await makeDataDir();
  // versions 1 and 2 ready, 3 failed, 4 ready
  for (const answer of ['one', 'two'])
    expect((await p.deploy('tr', await version(answer))).status).toBeLessThan(300);
  expect((await p.deploy('tr', fixture('broken-ts'))).status).toBe(422);
  expect((await p.deploy('tr', await version('four'))).status).toBeLessThan(300);
  // another function that calls it (ctx.call): the split applies to every trigger
  const caller = path.join(work, 'caller');
  await mkdir(caller, { recursive: true });
  await writeFile(
    path.join(caller, 'index.mjs'),
    "export default async (_req, ctx) => (await ctx.call('tr', '')).text();\n",
  );
  expect((await p.deploy('tr-caller', caller)).status).toBe(201);
});

afterAll(async () => {
  await p?.stop();
  if (p) await removeDir(p.dataDir);
  if (work) await removeDir(work);
});

describe('traffic split', () => {
  it('splits 1,000 calls 90/10 between two versions, both started first, shown by fn get, in the logs', async () => {
    const env = cleanEnv({ SKIFF_HOME: p.dataDir });
    const set = await runCli(['fn', 'traffic', 'tr', '2=90', '4=10'], env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('version 2 90%, version 4 10% (live: version 2)');

    // both versions have a ready instance as soon as the split is set
    const now = await detail('tr');
    expect(now.function.traffic).toEqual([
      { version: 2, percent: 90 },
      { version: 4, percent: 10 },
    ]);
    expect(now.function.liveVersion).toBe(2);
    for (const v of [2, 4])
      expect(now.function.instances.some((i) => i.version === v && i.state === 'ready')).toBe(true);

    const counts = await tally('/tr', 1000);
    expect(Object.keys(counts).sort()).toEqual(['four', 'two']);
    expect(counts['two']).toBeGreaterThanOrEqual(860);
    expect(counts['two']).toBeLessThanOrEqual(940);

    // a call from another function is split as well
    const called = await tally('/tr-caller', 200);
    expect(Object.keys(called).sort()).toEqual(['four', 'two']);
    expect(called['four']).toBeLessThanOrEqual(45);

    const get = await runCli(['fn', 'get', 'tr'], env);
    expect(get.stdout).toContain('Traffic:       version 2: 90%, version 4: 10%');
    const json = JSON.parse((await runCli(['fn', 'get', 'tr', '--json'], env)).stdout) as Detail;
    expect(json.function.traffic).toEqual(now.function.traffic);

    // every line a call wrote carries the version that served it
    const served = (await p.logs('tr')).filter((l) => l.message.startsWith('served by'));
    expect(served.some((l) => l.message === 'served by two' && l.version === 2)).toBe(true);
    expect(served.some((l) => l.message === 'served by four' && l.version === 4)).toBe(true);
    expect(served.every((l) => (l.message === 'served by two' ? 2 : 4) === l.version)).toBe(true);
  });

  it('refuses malformed splits with stable codes, and keeps the split it had', async () => {
    const cases: [unknown, number, string, string][] = [
      [
        {
          split: [
            { version: 2, percent: 50 },
            { version: 4, percent: 40 },
          ],
        },
        400,
        'SKIFF_E_INVALID_TRAFFIC',
        'sum to 90',
      ],
      [
        {
          split: [
            { version: 2, percent: 90 },
            { version: 9, percent: 10 },
          ],
        },
        404,
        'SKIFF_E_NOT_FOUND',
        'no version 9',
      ],
      [
        {
          split: [
            { version: 2, percent: 90 },
            { version: 3, percent: 10 },
          ],
        },
        400,
        'SKIFF_E_INVALID_TRAFFIC',
        'version 3 of tr failed',
      ],
      [
        { split: [1, 2, 4, 5, 6].map((version) => ({ version, percent: 20 })) },
        400,
        'SKIFF_E_INVALID_TRAFFIC',
        'at most 4 versions',
      ],
      [
        {
          split: [
            { version: 2, percent: 50 },
            { version: 2, percent: 50 },
          ],
        },
        400,
        'SKIFF_E_INVALID_TRAFFIC',
        'named twice',
      ],
      [{ split: [{ version: 2, percent: 100.5 }] }, 400, 'SKIFF_E_INVALID_TRAFFIC', 'whole percent'],
      [
        {
          split: [
            { version: 2, percent: 0 },
            { version: 4, percent: 100 },
          ],
        },
        400,
        'SKIFF_E_INVALID_TRAFFIC',
        'whole percent',
      ],
      [{ split: 'x' }, 400, 'SKIFF_E_INVALID_REQUEST', 'traffic body'],
      ['not json', 400, 'SKIFF_E_INVALID_REQUEST', 'traffic body'],
    ];
    for (const [body, status, code, text] of cases) {
      const res = await put('tr', body);
      const answer = (await res.json()) as { error: { code: string; message: string } };
      expect([res.status, answer.error.code], JSON.stringify(body)).toEqual([status, code]);
      expect(answer.error.message).toContain(text);
    }
    expect((await put('nope', { split: null })).status).toBe(404);
    expect((await detail('tr')).function.traffic).toHaveLength(2);

    const env = cleanEnv({ SKIFF_HOME: p.dataDir });
    const syntax = await runCli(['fn', 'traffic', 'tr', '2:90'], env);
    expect(syntax.code).not.toBe(0);
    expect(syntax.stderr).toContain('<version>=<percent>');
    const sum = await runCli(['fn', 'traffic', 'tr', '2=60', '4=60'], env);
    expect(sum.code).toBe(1);
    expect(sum.stderr).toContain('SKIFF_E_INVALID_TRAFFIC');
  });

  it('survives a restart, and ends with --clear, one version at 100, a deploy or a rollback', async () => {
    await p.stop();
    p = await startPlatform({ dataDir: p.dataDir });
    expect((await detail('tr')).function.traffic).toHaveLength(2);
    const after = await tally('/tr', 200);
    expect(Object.keys(after).sort()).toEqual(['four', 'two']);

    const env = cleanEnv({ SKIFF_HOME: p.dataDir });
    const clear = await runCli(['fn', 'traffic', 'tr', '--clear', '--json'], env);
    expect(JSON.parse(clear.stdout)).toEqual({
      function: 'tr',
      liveVersion: 2,
      traffic: [{ version: 2, percent: 100 }],
    });
    expect(await tally('/tr', 50)).toEqual({ two: 50 });

    const one = await put('tr', { split: [{ version: 4, percent: 100 }] });
    expect(await one.json()).toMatchObject({ liveVersion: 4, traffic: [{ version: 4, percent: 100 }] });
    expect(await tally('/tr', 50)).toEqual({ four: 50 });

    // a deploy ends the split: the new version takes every call
    expect(
      (
        await put('tr', {
          split: [
            { version: 1, percent: 50 },
            { version: 4, percent: 50 },
          ],
        })
      ).status,
    ).toBe(200);
    expect((await detail('tr')).function.liveVersion).toBe(4); // the newest of equal shares
    expect((await p.deploy('tr', await version('five'))).status).toBeLessThan(300);
    expect((await detail('tr')).function.traffic).toEqual([{ version: 5, percent: 100 }]);
    expect(await tally('/tr', 50)).toEqual({ five: 50 });

    // so does a rollback, even to the live version
    expect(
      (
        await put('tr', {
          split: [
            { version: 2, percent: 30 },
            { version: 5, percent: 70 },
          ],
        })
      ).status,
    ).toBe(200);
    const back = await p.api('/v1/functions/tr/rollback', { method: 'POST', body: '{"version":5}' });
    expect(back.status).toBe(200);
    expect((await detail('tr')).function.traffic).toEqual([{ version: 5, percent: 100 }]);
    expect(await tally('/tr', 50)).toEqual({ five: 50 });
  });
});
