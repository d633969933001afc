/**
 * `ctx.cast` (docs/composition.md, "Casts"): a function queues an invocation of another through the
 * durable async queue and gets its id. Node and Python (sync and async handlers), a delayed cast (also
 * across a restart), the rails of calls (access.callers, the delay's range, unknown functions) and the
 * invocation tree (parent, root, children) in the API and in `skiff invocation get`.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type LogLine, type TestPlatform } from './helpers/platform.js';
import { TMP_PREFIX } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

interface View {
  id: string;
  function: string;
  trigger: string;
  status: string;
  attempts: number;
  createdAt: string;
  history: { at: string; outcome: string }[];
  result: { status: number; body: string } | null;
  parentId: string | null;
  rootId: string | null;
  caller: string | null;
  children: string[];
}

/** What the cast-node fixture's default path answers (base64 in the record). */
interface Run {
  trigger: string;
  caller: string | null;
  body: string;
  path: string;
  query: string;
  kind: string | null;
  at: number;
}

const runOf = (view: View): Run =>
  JSON.parse(Buffer.from(view.result?.body ?? '', 'base64').toString('utf8')) as Run;

/** The record of an async invocation, once it is final. */
async function finished(p: TestPlatform, id: string, ms = 30_000): Promise<View> {
  return waitFor(
    `invocation ${id} to finish`,
    async () => {
      const res = await p.api(`/v1/invocations/${id}`);
      if (res.status !== 200) return undefined;
      const { invocation } = (await res.json()) as { invocation: View };
      return invocation.status === 'queued' || invocation.status === 'running' ? undefined : invocation;
    },
    ms,
  );
}

/** POSTs to a function and returns its JSON answer (failing on another status than `status`). */
async function post<T>(p: TestPlatform, route: string, body = 'x', status = 200): Promise<T> {
  const res = await p.call(route, { method: 'POST', body });
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

describe('ctx.cast', () => {
  let p: TestPlatform;
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform({ config: { async: { retryBaseMs: 100 } } });
    await p.deployAll({
      'cast-node': 'cast-node',
      'cast-sink': 'cast-sink',
      'cast-py': 'cast-py',
      'cast-py-async': 'cast-py-async',
      'cast-sh': 'cast-sh',
    });
    const guarded = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    dirs.push(guarded);
    await cp(fixture('cast-sink'), guarded, { recursive: true });
    await writeFile(
      path.join(guarded, 'skiff.json'),
      JSON.stringify({ runtime: 'node', access: { callers: ['cast-py'] } }),
    );
    const res = await p.deploy('guarded', guarded);
    expect(res.status, await res.text()).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
    if (p) await removeDir(p.dataDir);
    for (const dir of dirs) await removeDir(dir);
  });

  it('queues an invocation with trigger cast that the callee runs, knowing its caller', async () => {
    const { id } = await post<{ id: string }>(p, '/cast-node/cast?to=cast-node&path=/run%3Fa%3D1', 'hi');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const view = await finished(p, id);
    expect(view).toMatchObject({ function: 'cast-node', trigger: 'cast', status: 'succeeded', attempts: 1 });
    expect(view.caller).toBe('cast-node');
    expect(runOf(view)).toMatchObject({
      trigger: 'cast',
      caller: 'cast-node',
      body: 'hi',
      path: '/run',
      query: '?a=1',
    });
  });

  it('casts from Python, from a sync and from an async handler', async () => {
    for (const [fn, suffix] of [
      ['cast-py', '>py-sync'],
      ['cast-py-async', '>py-async'],
    ] as const) {
      const { id } = await post<{ id: string }>(p, `/${fn}`, 'p');
      expect(id, fn).toMatch(/^[0-9a-f-]{36}$/);
      const view = await finished(p, id);
      expect(view.status, fn).toBe('succeeded');
      expect(runOf(view)).toMatchObject({
        trigger: 'cast',
        caller: fn,
        body: `p${suffix}`,
        path: '/from-py',
      });
    }
    // delay_ms from Python
    const { id } = await post<{ id: string }>(p, '/cast-py/delayed', 'pd');
    const view = await finished(p, id);
    expect(runOf(view).body).toBe('pd');
    expect(runOf(view).at - Date.parse(view.createdAt)).toBeGreaterThanOrEqual(1000);
  });

  it('casts from a shell function through $SKIFF_API, delayed, and passes a refusal on', async () => {
    const { id } = await post<{ id: string }>(p, '/cast-sh/cast-node?delayMs=500', 'sh');
    const view = await finished(p, id);
    expect(view).toMatchObject({
      function: 'cast-node',
      trigger: 'cast',
      caller: 'cast-sh',
      status: 'succeeded',
    });
    expect(runOf(view).body).toBe('sh');
    expect(runOf(view).at - Date.parse(view.createdAt)).toBeGreaterThanOrEqual(500);
    const refused = await post<{ error: { code: string } }>(p, '/cast-sh/no-such-function', 'x');
    expect(refused.error.code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
  });

  it('runs a cast delayed by 1 s between 1 s and 2 s later', async () => {
    const { id, at } = await post<{ id: string; at: number }>(
      p,
      '/cast-node/delayed?ms=1000&to=cast-node',
      'd',
    );
    const view = await finished(p, id);
    const run = runOf(view);
    expect(run).toMatchObject({ body: 'd', path: '/was-delayed', query: '?x=1', kind: 'delayed' });
    expect(run.at - at).toBeGreaterThanOrEqual(1000);
    expect(run.at - at).toBeLessThan(2000);
  });

  it('refuses a delay outside 0 … 24 h with SKIFF_E_INVALID_REQUEST, queueing nothing', async () => {
    for (const ms of [-1, 1.5, 24 * 3600 * 1000 + 1, 'NaN', 'soon']) {
      const body = await post<{ code: string; message: string }>(
        p,
        `/cast-node/bad-delay?ms=${ms}`,
        'x',
        502,
      );
      expect(body.code, String(ms)).toBe('SKIFF_E_INVALID_REQUEST');
      expect(body.message).toContain('delay');
    }
    // refused as an error the function can catch, not a frame that ends its instance
    const lines = await p.logs('cast-node');
    expect(lines.filter((l) => l.message.includes('runtime protocol'))).toEqual([]);
  });

  it('refuses a caster that access.callers does not list with SKIFF_E_FORBIDDEN', async () => {
    const refused = await post<{ code: string; message: string }>(p, '/cast-node/cast?to=guarded', 'x', 502);
    expect(refused.code).toBe('SKIFF_E_FORBIDDEN');
    expect(refused.message).toContain('guarded does not accept casts from cast-node');
    const list = await (await p.api('/v1/invocations?function=guarded')).json();
    expect((list as { invocations: unknown[] }).invocations).toEqual([]);
  });

  it('refuses a cast to a function that does not exist', async () => {
    const body = await post<{ code: string }>(p, '/cast-node/cast?to=no-such-function', 'x', 502);
    expect(body.code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
  });

  it('records the invocation tree: parent, root and children, in the API and the CLI', async () => {
    // an async root casts to cast-node, whose run casts to cast-sink: root → child → grandchild
    const inner = encodeURIComponent('/cast?to=cast-sink');
    const res = await p.call(`/cast-node/cast?to=cast-node&path=${inner}`, {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: 'tree',
    });
    expect(res.status).toBe(202);
    const { id: rootId } = (await res.json()) as { id: string };
    const root = await finished(p, rootId);
    expect(root).toMatchObject({ parentId: null, rootId: null, caller: null });
    expect(root.children).toHaveLength(1);
    const childId = root.children[0] ?? '';
    const child = await finished(p, childId);
    expect(child).toMatchObject({ parentId: rootId, rootId, caller: 'cast-node', function: 'cast-node' });
    const grandchildId = await waitFor('the grandchild', async () => {
      const view = (await (await p.api(`/v1/invocations/${childId}`)).json()) as { invocation: View };
      return view.invocation.children[0];
    });
    const grandchild = await finished(p, grandchildId);
    expect(grandchild).toMatchObject({
      parentId: childId,
      rootId,
      caller: 'cast-node',
      function: 'cast-sink',
    });
    expect(grandchild.children).toEqual([]);
    // its log lines carry the root of the chain
    const lines = (await p.logs('cast-sink')) as (LogLine & { rootId?: string })[];
    expect(lines.find((l) => l.invocationId === grandchildId && l.message === 'ran tree')?.rootId).toBe(
      rootId,
    );

    const out = await new Promise<string>((resolve, reject) => {
      const bin = path.resolve(import.meta.dirname, '..', 'bin', 'skiff.js');
      const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '', SKIFF_HOME: p.dataDir };
      execFile(
        process.execPath,
        [bin, 'invocation', 'get', childId],
        { env, timeout: 30_000 },
        (err, stdout) => (err === null ? resolve(stdout) : reject(err)),
      );
    });
    expect(out).toMatch(new RegExp(`^Parent: +${rootId}$`, 'm'));
    expect(out).toMatch(new RegExp(`^Root: +${rootId}$`, 'm'));
    expect(out).toMatch(/^Children: +1$/m);
    expect(out).toContain(`  ${grandchildId}`);
  });

  it('a chain started by a synchronous call: listed by its root id in the API and by `skiff invocation get`', async () => {
    const res = await p.call('/cast-node/cast?to=cast-node&path=%2Fcast%3Fto%3Dcast-sink', {
      method: 'POST',
      body: 'sync-root',
    });
    expect(res.status).toBe(200);
    const rootId = res.headers.get('x-skiff-invocation-id') ?? '';
    expect(rootId).not.toBe('');
    const { id: childId } = (await res.json()) as { id: string };
    // the child (a cast) and the grandchild it casts are both in the chain
    const chain = await waitFor('the chain of two casts', async () => {
      const list = await p.api(`/v1/invocations?rootId=${rootId}`);
      const { invocations } = (await list.json()) as { invocations: View[] };
      return invocations.length >= 2 ? invocations : undefined;
    });
    expect(chain.map((i) => i.rootId)).toEqual([rootId, rootId]);
    expect(chain.find((i) => i.id === childId)).toMatchObject({ parentId: rootId, function: 'cast-node' });
    expect(chain.find((i) => i.id !== childId)).toMatchObject({ parentId: childId, function: 'cast-sink' });
    // the root itself ran synchronously and has no record: the CLI shows its chain instead
    expect((await p.api(`/v1/invocations/${rootId}`)).status).toBe(404);
    const out = await new Promise<string>((resolve, reject) => {
      const bin = path.resolve(import.meta.dirname, '..', 'bin', 'skiff.js');
      const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '', SKIFF_HOME: p.dataDir };
      execFile(
        process.execPath,
        [bin, 'invocation', 'get', rootId],
        { env, timeout: 30_000 },
        (err, stdout) => (err === null ? resolve(stdout) : reject(err)),
      );
    });
    expect(out).toContain(`Invocation ${rootId} has no record (it ran synchronously)`);
    // the chain's log lines, across its functions
    const grandchild = chain.find((i) => i.id !== childId);
    await finished(p, grandchild?.id ?? '');
    const logs = await new Promise<string>((resolve, reject) => {
      const bin = path.resolve(import.meta.dirname, '..', 'bin', 'skiff.js');
      const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '', SKIFF_HOME: p.dataDir };
      execFile(process.execPath, [bin, 'logs', '--root', rootId], { env, timeout: 30_000 }, (err, stdout) =>
        err === null ? resolve(stdout) : reject(err),
      );
    });
    expect(logs).toMatch(/^cast-sink .* ran sync-root$/m);
    expect(logs.split('\n').filter((l) => l !== '' && !/^cast-(node|sink) /.test(l))).toEqual([]);
    expect(out).toContain(childId);
    expect(
      out.split('\n').filter((l) => l.includes(rootId) || l.includes(childId)).length,
    ).toBeGreaterThanOrEqual(3);
  });
  it("goes where a workflow maps the caster's output alias: several targets, none, a new mapping", async () => {
    const apply = async (functions: Record<string, Record<string, string[]>>) => {
      const res = await p.api('/v1/workflows/wf-cast', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ functions }),
      });
      expect([200, 201], await res.text()).toContain(res.status);
    };
    await apply({ 'cast-node': { both: ['cast-sink', 'cast-node'], nowhere: [] } });
    try {
      const res = await p.call('/cast-node/cast?to=both', {
        method: 'POST',
        headers: { 'x-skiff-async': 'true' },
        body: 'wf',
      });
      expect(res.status).toBe(202);
      const root = await finished(p, ((await res.json()) as { id: string }).id);
      expect(root.children).toHaveLength(2);
      const targets = await Promise.all(root.children.map((id) => finished(p, id)));
      expect(targets.map((t) => t.function)).toEqual(['cast-sink', 'cast-node']);
      expect(targets.every((t) => t.trigger === 'cast' && t.caller === 'cast-node')).toBe(true);
      // an alias mapped to nowhere: accepted, nothing queued, id null
      expect(await post<{ id: string | null }>(p, '/cast-node/cast?to=nowhere')).toEqual({ id: null });
      // a new mapping applies to the next cast, without a redeploy
      await apply({ 'cast-node': { both: ['cast-sink'] } });
      const { id } = await post<{ id: string }>(p, '/cast-node/cast?to=both', 'again');
      expect((await finished(p, id)).function).toBe('cast-sink');
    } finally {
      await p.api('/v1/workflows/wf-cast', { method: 'DELETE' });
    }
  });
});

describe('a function that casts to itself', () => {
  it('stops at functions.maxCallDepth with SKIFF_E_CALL_DEPTH', async () => {
    const p = await startPlatform({ config: { functions: { maxCallDepth: 3 } } });
    try {
      await p.deployAll({ 'cast-node': 'cast-node' });
      const res = await p.call('/cast-node/loop', {
        method: 'POST',
        headers: { 'x-skiff-async': 'true' },
        body: 'l',
      });
      expect(res.status).toBe(202);
      let view = await finished(p, ((await res.json()) as { id: string }).id);
      // root (depth 0) → 1 → 2 → 3: the run at depth 3 may not cast again
      for (let depth = 1; depth <= 3; depth++) {
        expect(view.children, `depth ${depth}`).toHaveLength(1);
        view = await finished(p, view.children[0] ?? '');
      }
      expect(view.children).toEqual([]);
      expect(view.result?.status).toBe(502);
      const refused = JSON.parse(Buffer.from(view.result?.body ?? '', 'base64').toString()) as {
        code: string;
      };
      expect(refused.code).toBe('SKIFF_E_CALL_DEPTH');
    } finally {
      await p.stop();
      await removeDir(p.dataDir);
    }
  }, 60_000);
});

describe('a delayed cast across a restart', () => {
  it('runs after the restart, no earlier than its delay', async () => {
    let p = await startPlatform();
    const { dataDir } = p;
    try {
      await p.deployAll({ 'cast-node': 'cast-node' });
      const { id, at } = await post<{ id: string; at: number }>(
        p,
        '/cast-node/delayed?ms=3000&to=cast-node',
        'r',
      );
      await p.stop();
      p = await startPlatform({ dataDir });
      const run = runOf(await finished(p, id));
      expect(run.body).toBe('r');
      expect(run.at - at).toBeGreaterThanOrEqual(3000);
    } finally {
      await p.stop();
      await removeDir(dataDir);
    }
  }, 60_000);
});
