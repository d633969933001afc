/**
 * Workflows on a real platform: apply (create, replace), get, list and delete through /v1/workflows;
 * the table casts resolve with (`server.castTargets`) follows each change at once; workflows survive a
 * restart on the same data directory; bad specs answer 400 naming the field, a member of two workflows
 * 409.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

interface ErrorBody {
  error: { code: string; message: string; details?: { issues?: { path: string }[] } };
}

describe('workflows on a real platform', () => {
  let dataDir: string;
  let p: TestPlatform | undefined;
  const platform = (): TestPlatform => {
    if (p === undefined) throw new Error('no platform');
    return p;
  };
  const put = (name: string, body: unknown, headers: Record<string, string> = {}) =>
    platform().api(`/v1/workflows/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const refusal = async (res: Response, status: number): Promise<ErrorBody['error']> => {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    return (JSON.parse(text) as ErrorBody).error;
  };

  beforeAll(async () => {
    dataDir = await makeDataDir();
    p = await startPlatform({ dataDir });
    await p.deployAll({ ingest: 'echo-cjs', resize: 'echo-cjs', audit: 'echo-cjs', store: 'echo-cjs' });
  });

  afterAll(async () => {
    await p?.stop();
    await removeDir(dataDir);
  });

  it('applies, replaces, gets, lists and deletes; casts follow each change at once', async () => {
    const targets = (caller: string, name: string) => platform().server.castTargets(caller, name);
    expect(targets('ingest', 'output')).toEqual(['output']);

    const spec = {
      name: 'pipeline',
      description: 'resize and audit',
      functions: { ingest: { output: ['resize', 'audit'], errors: [] }, resize: { done: ['store'] } },
    };
    const created = await put('pipeline', spec);
    expect(created.status).toBe(201);
    const { workflow } = (await created.json()) as { workflow: Record<string, unknown> };
    expect(workflow).toMatchObject({ ...spec, version: 1 });
    expect(targets('ingest', 'output')).toEqual(['resize', 'audit']);
    expect(targets('ingest', 'errors')).toEqual([]);
    expect(targets('resize', 'done')).toEqual(['store']);
    expect(targets('audit', 'done')).toEqual(['done']);

    // replaced, without `name` in the body (the path names it): the next cast takes the new mapping
    const replaced = await put('pipeline', { functions: { ingest: { output: ['store'] } } });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({
      workflow: { name: 'pipeline', version: 2, functions: { ingest: { output: ['store'] } } },
    });
    expect(targets('ingest', 'output')).toEqual(['store']);
    expect(targets('resize', 'done')).toEqual(['done']);

    const got = await platform().api('/v1/workflows/pipeline');
    expect(got.status).toBe(200);
    const body = (await got.json()) as { workflow: { description?: string; createdAt: string } };
    expect(body.workflow.description).toBeUndefined();
    expect(body.workflow.createdAt).toBe(workflow['createdAt']);

    expect((await put('side', { functions: { audit: { out: ['store'] } } })).status).toBe(201);
    const list = await platform().api('/v1/workflows');
    expect(await list.json()).toMatchObject({
      workflows: [
        { name: 'pipeline', members: ['ingest'], version: 2 },
        { name: 'side', members: ['audit'], version: 1 },
      ],
    });

    const deleted = await platform().api('/v1/workflows/pipeline', { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(targets('ingest', 'output')).toEqual(['output']);
    expect(targets('audit', 'out')).toEqual(['store']);
    expect((await refusal(await platform().api('/v1/workflows/pipeline'), 404)).code).toBe(
      'SKIFF_E_WORKFLOW_NOT_FOUND',
    );
    const again = await platform().api('/v1/workflows/pipeline', { method: 'DELETE' });
    expect((await refusal(again, 404)).code).toBe('SKIFF_E_WORKFLOW_NOT_FOUND');
    expect((await platform().api('/v1/workflows/side', { method: 'DELETE' })).status).toBe(204);
  });

  it('a mapping changed while casts resolve: each sees the old or the new one, the next after an answer the new', async () => {
    const mappings = [
      { ingest: { output: ['resize'], errors: ['audit'] } },
      { ingest: { output: ['store', 'audit'], errors: [] } },
    ];
    const expected = mappings.map((m) => `${m.ingest.output.join(',')}|${m.ingest.errors.join(',')}`);
    const seen = [0, 0];
    let flowing = true;
    // "events": resolving both aliases of ingest in one step, as one cast reads the table once
    const events = async (): Promise<void> => {
      while (flowing) {
        const got = ['output', 'errors'].map((a) => platform().server.castTargets('ingest', a).join(','));
        const which = expected.indexOf(got.join('|'));
        expect(which, `a mapping that was never applied: ${got.join('|')}`).toBeGreaterThanOrEqual(0);
        seen[which] = (seen[which] ?? 0) + 1;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    expect((await put('live', { functions: mappings[1] })).status).toBe(201);
    const flow = Promise.all([events(), events(), events()]);
    for (let i = 0; i < 20; i++) {
      const res = await put('live', { functions: mappings[i % 2] });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(platform().server.castTargets('ingest', 'output')).toEqual(mappings[i % 2]?.ingest.output);
    }
    flowing = false;
    await flow;
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(0);
    expect((await platform().api('/v1/workflows/live', { method: 'DELETE' })).status).toBe(204);
  });

  it('refuses bad specs with 400 naming the field, and nothing is stored', async () => {
    const cases: [unknown, string][] = [
      [{ functions: { ingest: { output: ['Resize'] } } }, 'functions.ingest.output[0]'],
      [{ functions: { ingest: { 'bad alias': ['resize'] } } }, 'functions.ingest.bad alias'],
      [{ functions: { ingest: { output: ['resize', 'resize'] } } }, 'functions.ingest.output[1]'],
      [{ functions: { ingest: {} }, steps: [] }, '(root)'],
      [{ name: 'other', functions: { ingest: {} } }, 'name'],
      [{ functions: { ingest: { output: 'resize' } } }, 'functions.ingest.output'],
      ['{"functions": ', '(root)'],
    ];
    for (const [body, path] of cases) {
      const error = await refusal(await put('bad', body), 400);
      expect(error.code, JSON.stringify(body)).toBe('SKIFF_E_INVALID_WORKFLOW');
      expect(error.details?.issues?.map((i) => i.path)).toEqual([path]);
      expect(error.message).toContain(`${path}:`);
    }
    // functions that are not deployed: every place they are named
    const missing = await refusal(
      await put('bad', { functions: { ghost: { out: ['store'] }, ingest: { out: ['phantom', 'resize'] } } }),
      400,
    );
    expect(missing.code).toBe('SKIFF_E_INVALID_WORKFLOW');
    expect(missing.details?.issues?.map((i) => i.path)).toEqual([
      'functions.ghost',
      'functions.ingest.out[0]',
    ]);
    expect(missing.message).toContain('no function named "phantom"');

    expect((await refusal(await put('Bad_Name', { functions: { ingest: {} } }), 400)).code).toBe(
      'SKIFF_E_INVALID_NAME',
    );
    const huge = { functions: { ingest: {} }, description: 'x'.repeat(70 * 1024) };
    expect((await refusal(await put('bad', huge), 413)).code).toBe('SKIFF_E_PAYLOAD_TOO_LARGE');
    const text = await put('bad', { functions: { ingest: {} } }, { 'content-type': 'text/plain' });
    expect((await refusal(text, 415)).code).toBe('SKIFF_E_UNSUPPORTED_MEDIA_TYPE');
    expect(await (await platform().api('/v1/workflows')).json()).toEqual({ workflows: [] });
    expect(platform().server.castTargets('ingest', 'out')).toEqual(['out']);

    const anonymous = await fetch(`${platform().controlUrl}/v1/workflows`);
    expect((await refusal(anonymous, 401)).code).toBe('SKIFF_E_UNAUTHORIZED');
  });

  it('keeps a function in one workflow (409), and workflows survive a restart', async () => {
    expect((await put('first', { functions: { ingest: { output: ['audit'] }, resize: {} } })).status).toBe(
      201,
    );
    const clash = await refusal(await put('second', { functions: { resize: {}, store: {} } }), 409);
    expect(clash.code).toBe('SKIFF_E_WORKFLOW_CONFLICT');
    expect(clash.details).toEqual({ members: { resize: 'first' } });
    expect((await refusal(await platform().api('/v1/workflows/second'), 404)).code).toBe(
      'SKIFF_E_WORKFLOW_NOT_FOUND',
    );
    // a target may be in another workflow, and a function outside any workflow casts by plain names
    expect((await put('second', { functions: { store: { out: ['ingest'] } } })).status).toBe(201);

    await platform().stop();
    p = undefined;
    p = await startPlatform({ dataDir });
    const list = (await (await platform().api('/v1/workflows')).json()) as { workflows: { name: string }[] };
    expect(list.workflows.map((w) => w.name)).toEqual(['first', 'second']);
    expect(platform().server.castTargets('ingest', 'output')).toEqual(['audit']);
    expect(platform().server.castTargets('store', 'out')).toEqual(['ingest']);
    expect(platform().server.castTargets('audit', 'output')).toEqual(['output']);
    const clashAgain = await refusal(await put('third', { functions: { ingest: {} } }), 409);
    expect(clashAgain.details).toEqual({ members: { ingest: 'first' } });
  });
});
