/**
 * The seam that lets a dialect serve names itself (src/invoke/external-targets.ts) and bring its own
 * workflow file format (src/control/workflow-formats.ts), through a test dialect: its format turns
 * `{ "format": "pairs", "entry": <fn>, "alias": <a> }` into a Skiff workflow whose member <fn> casts
 * alias <a> to a name the dialect serves, `<workflow>--sink`, which answers `got:<body>`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Dialect, DialectContext } from '../src/compat/index.js';
import type { Invocation } from '../src/model/invocation.js';
import { fixture, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/wait.js';

const got: Invocation[] = [];
const released: string[] = [];

function pairsDialect(): Dialect {
  return {
    name: 'pairs',
    config: { schema: z.object({ enabled: z.boolean().default(true) }).prefault({}) },
    flavors: [],
    enable: (ctx: DialectContext) => ({
      workflowFormats: [
        {
          label: 'pairs file',
          maxBytes: 4096,
          accepts: (body) => (body as { format?: unknown } | null)?.format === 'pairs',
          prepare: (name, body) => {
            const { entry, alias } = body as { entry: string; alias: string };
            const sink = `${name}--sink`;
            return {
              spec: { name, functions: { [entry]: { [alias]: [sink] }, [sink]: {} } },
              provides: [sink],
              warnings: [`${alias} is cast to ${sink}`],
              commit: () =>
                ctx.externals.set(sink, {
                  owner: 'pairs',
                  callers: [entry],
                  private: false,
                  createdAt: Date.now(),
                  invoke: (inv) => {
                    got.push(inv);
                    return Promise.resolve({
                      status: 200,
                      headers: [],
                      body: Buffer.concat([Buffer.from('got:'), inv.body]),
                    });
                  },
                }),
            };
          },
          release: (name) => {
            if (ctx.externals.delete(`${name}--sink`, 'pairs')) released.push(name);
          },
        },
      ],
    }),
  };
}

const json = { 'content-type': 'application/json' };

describe('external targets and workflow formats of a dialect', () => {
  let platform: TestPlatform;
  const apply = (name: string, body: unknown) =>
    platform.api(`/v1/workflows/${name}`, { method: 'PUT', headers: json, body: JSON.stringify(body) });

  beforeAll(async () => {
    platform = await startPlatform({ dialects: { pairs: pairsDialect() } });
    await platform.deployAll({ member: 'cast-node', outsider: 'cast-node' });
  }, 120_000);
  afterAll(async () => {
    await platform.stop();
    await removeDir(platform.dataDir);
  });

  it('takes the format, stores the workflow it becomes and answers its warnings', async () => {
    const res = await apply('wf', { format: 'pairs', entry: 'member', alias: 'out' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { workflow: { functions: unknown }; warnings: string[] };
    expect(body.workflow.functions).toEqual({ member: { out: ['wf--sink'] }, 'wf--sink': {} });
    expect(body.warnings).toEqual(['out is cast to wf--sink']);
    // a list of functions no enabled format takes: said so, not a bare type error
    const foreign = await apply('other', { functions: [{ name: 'x' }] });
    expect(foreign.status).toBe(400);
    expect(((await foreign.json()) as { error: { message: string } }).error.message).toContain(
      "a workflow file in another platform's format is taken only while that platform's compatibility is enabled",
    );
  });

  it('routes the gateway, casts through a member alias and async calls to the dialect', async () => {
    const sync = await platform.call('/wf--sink/x', { method: 'POST', body: 'direct' });
    expect(sync.status).toBe(200);
    expect(await sync.text()).toBe('got:direct');
    const cast = await platform.call('/member/cast?to=out', { method: 'POST', body: 'via-alias' });
    expect(cast.status).toBe(200);
    const delivered = await waitFor('the cast to reach the sink', () =>
      got.find((inv) => inv.body.toString() === 'via-alias'),
    );
    expect(delivered).toMatchObject({ function: 'wf--sink', trigger: 'cast', caller: 'member', depth: 1 });
  });

  it('keeps the rails: a function outside the callers is refused, a clash with a function too', async () => {
    const refused = await platform.call('/outsider/cast?to=wf--sink', { method: 'POST', body: 'x' });
    expect(await refused.json()).toMatchObject({ code: 'SKIFF_E_FORBIDDEN' });
    // a workflow whose sink would take a deployed function's name is refused whole
    await platform.deployAll({ 'taken--sink': 'cast-node' });
    const conflict = await apply('taken', { format: 'pairs', entry: 'member', alias: 'a' });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ error: { code: 'SKIFF_E_WORKFLOW_CONFLICT' } });
    expect((await platform.api('/v1/workflows/taken')).status).toBe(404);
    // and a function cannot be deployed under a name the dialect serves
    const deploy = await platform.deploy('wf--sink', fixture('cast-node'));
    expect(deploy.status).toBe(409);
    expect(await deploy.json()).toMatchObject({ error: { code: 'SKIFF_E_CONFLICT' } });
  });

  it('releases the names at delete: the gateway no longer reaches them', async () => {
    expect((await platform.api('/v1/workflows/wf', { method: 'DELETE' })).status).toBe(204);
    expect(released).toContain('wf');
    expect((await platform.call('/wf--sink', { method: 'POST', body: 'late' })).status).toBe(404);
  });

  it('keeps the state of a stored workflow’s member across a restart', async () => {
    const state = (name: string) => `/v1/functions/${name}/state/k`;
    expect((await apply('outsider', { format: 'pairs', entry: 'member', alias: 'a' })).status).toBe(201);
    const put = await platform.api(state('outsider--sink'), {
      method: 'PUT',
      body: 'v',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBeLessThan(300);
    await platform.stop();
    platform = await startPlatform({ dataDir: platform.dataDir, dialects: { pairs: pairsDialect() } });
    // the dialect serves nothing until applied again; the state waited for it
    expect((await apply('outsider', { format: 'pairs', entry: 'member', alias: 'a' })).status).toBe(200);
    const kept = await platform.api(state('outsider--sink'));
    expect(kept.status).toBe(200);
    expect(await kept.text()).toBe('v');
  }, 60_000);
});
