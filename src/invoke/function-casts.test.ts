import { describe, expect, it } from 'vitest';
import { SkiffError } from '../shared/errors.js';
import type { Invocation } from '../model/invocation.js';
import type { CastRequest } from '../executor/calls.js';
import type { NewAsync } from './async-queue.js';
import { FunctionCasts, type FunctionCastsOptions } from './function-casts.js';

function parent(fields: Partial<Invocation> = {}): Invocation {
  return {
    id: 'inv-1',
    function: 'caster',
    trigger: 'http',
    method: 'POST',
    path: '/',
    query: '',
    headers: [],
    body: Buffer.alloc(0),
    deadline: 0,
    host: 'example.test',
    ...fields,
  };
}

function request(fields: Partial<CastRequest> = {}): CastRequest {
  return {
    function: 'audit',
    method: 'POST',
    path: '/log?level=1',
    headers: [['x-a', 'b']],
    body: Buffer.from('payload'),
    delayMs: 0,
    ...fields,
  };
}

/** A host over a fake queue: what it accepted, and ids `id-1`, `id-2` … */
function host(options: Partial<FunctionCastsOptions> = {}): { casts: FunctionCasts; accepted: NewAsync[] } {
  const accepted: NewAsync[] = [];
  const casts = new FunctionCasts({
    acceptGroups: (groups) =>
      groups.map((group) => group.map((req) => (accepted.push(req), `id-${accepted.length}`))),
    chainSize: (rootId) => accepted.filter((r) => r.chain?.rootId === rootId).length,
    maxChainCasts: 1000,
    resolve: () => ({ callers: null }),
    maxDepth: 8,
    maxBodyBytes: 1024,
    ...options,
  });
  return { casts, accepted };
}

const caster = (fields: Partial<Invocation> = {}) => ({
  invocation: parent(fields),
  deadline: Date.now() + 1000,
});

async function refusal(p: Promise<unknown>): Promise<SkiffError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SkiffError);
  return err as SkiffError;
}

describe('FunctionCasts', () => {
  it('queues one `cast` row with the request, the chain and the delay', async () => {
    const { casts, accepted } = host();
    await expect(casts.cast(caster(), request({ delayMs: 1500, seq: 2 }))).resolves.toEqual(['id-1']);
    expect(accepted).toEqual([
      {
        function: 'audit',
        trigger: 'cast',
        method: 'POST',
        path: '/log',
        query: 'level=1',
        headers: [['x-a', 'b']],
        body: Buffer.from('payload'),
        host: 'skiff.internal',
        callbackUrl: null,
        delayMs: 1500,
        chain: { caller: 'caster', parentId: 'inv-1', rootId: 'inv-1', depth: 1 },
        // the third cast of inv-1's attempt: a retried attempt's third cast finds this row
        castKey: 'inv-1#2#audit',
      },
    ]);
  });

  it('extends the chain of a caster that was itself called or cast', async () => {
    const { casts, accepted } = host();
    await casts.cast(caster({ id: 'inv-2', parentId: 'inv-1', rootId: 'root', depth: 3 }), request());
    expect(accepted[0]?.chain).toEqual({ caller: 'caster', parentId: 'inv-2', rootId: 'root', depth: 4 });
  });

  it('refuses a cast whose run would be deeper than maxDepth', async () => {
    const { casts, accepted } = host({ maxDepth: 3 });
    const err = await refusal(casts.cast(caster({ depth: 3 }), request()));
    expect(err.code).toBe('SKIFF_E_CALL_DEPTH');
    expect(accepted).toEqual([]);
    await expect(casts.cast(caster({ depth: 2 }), request())).resolves.toEqual(['id-1']);
  });

  it('takes delays from 0 to 24 h in whole milliseconds, and refuses any other', async () => {
    const { casts, accepted } = host();
    await casts.cast(caster(), request({ delayMs: 24 * 3600 * 1000 }));
    for (const delayMs of [-1, 0.5, 24 * 3600 * 1000 + 1, Number.NaN, Infinity]) {
      const err = await refusal(casts.cast(caster(), request({ delayMs })));
      expect(err.code, String(delayMs)).toBe('SKIFF_E_INVALID_REQUEST');
    }
    expect(accepted).toHaveLength(1);
  });

  it('refuses a body over maxBodyBytes, and a method or header no HTTP client could send', async () => {
    const { casts, accepted } = host();
    expect((await refusal(casts.cast(caster(), request({ body: Buffer.alloc(1025) })))).code).toBe(
      'SKIFF_E_PAYLOAD_TOO_LARGE',
    );
    expect((await refusal(casts.cast(caster(), request({ method: 'GET /' })))).code).toBe(
      'SKIFF_E_INVALID_REQUEST',
    );
    const header = request({ headers: [['x', 'a\r\nb']] });
    expect((await refusal(casts.cast(caster(), header))).code).toBe('SKIFF_E_INVALID_REQUEST');
    expect(accepted).toEqual([]);
  });

  it("applies the target's access.callers (SKIFF_E_FORBIDDEN), and passes unknown functions' errors on", async () => {
    const { casts, accepted } = host({
      resolve: (name) => {
        if (name === 'audit') return { callers: ['other'] };
        throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `no ${name}`);
      },
    });
    const forbidden = await refusal(casts.cast(caster(), request()));
    expect(forbidden.code).toBe('SKIFF_E_FORBIDDEN');
    expect(forbidden.message).toContain('audit does not accept casts from caster');
    const missing = await refusal(casts.cast(caster(), request({ function: 'nope' })));
    expect(missing.code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
    expect(accepted).toEqual([]);
    await expect(casts.cast(caster({ function: 'other' }), request())).resolves.toEqual(['id-1']);
  });

  it('writes one row per target of an alias, none when it maps nowhere, and checks all before any', async () => {
    const targets = (_caller: string, name: string): string[] =>
      name === 'out' ? ['a', 'b'] : name === 'none' ? [] : name === 'mixed' ? ['a', 'private'] : [name];
    const { casts, accepted } = host({
      targets,
      resolve: (name) => ({ callers: name === 'private' ? [] : null }),
    });
    await expect(casts.cast(caster(), request({ function: 'out' }))).resolves.toEqual(['id-1', 'id-2']);
    expect(accepted.map((r) => r.function)).toEqual(['a', 'b']);
    await expect(casts.cast(caster(), request({ function: 'none' }))).resolves.toEqual([]);
    expect((await refusal(casts.cast(caster(), request({ function: 'mixed' })))).code).toBe(
      'SKIFF_E_FORBIDDEN',
    );
    expect(accepted).toHaveLength(2);
  });

  it("passes the queue's refusal on (a full queue)", async () => {
    const { casts } = host({
      acceptGroups: (groups) => groups.map(() => new SkiffError('SKIFF_E_QUEUE_FULL', 'full')),
    });
    expect((await refusal(casts.cast(caster(), request()))).code).toBe('SKIFF_E_QUEUE_FULL');
  });

  it('writes the casts of one turn in one batch, and bounds what one chain may cast in all', async () => {
    const batches: number[] = [];
    const accepted: NewAsync[] = [];
    const { casts } = host({
      maxChainCasts: 5,
      acceptGroups: (groups) => {
        batches.push(groups.length);
        return groups.map((group) => group.map((req) => (accepted.push(req), `id-${accepted.length}`)));
      },
      chainSize: (rootId) => accepted.filter((r) => r.chain?.rootId === rootId).length,
    });
    // seven casts in one turn: one batch of the five the chain may make; the sixth and seventh refused
    const outcomes = await Promise.allSettled(
      Array.from({ length: 7 }, () => casts.cast(caster(), request())),
    );
    expect(batches).toEqual([5]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused.map((o) => (o.reason as SkiffError).code)).toEqual([
      'SKIFF_E_TOO_MANY_REQUESTS',
      'SKIFF_E_TOO_MANY_REQUESTS',
    ]);
    // the budget is the chain's, counted from what is queued: a later cast of it is refused too
    expect((await refusal(casts.cast(caster({ id: 'child', rootId: 'inv-1' }), request()))).code).toBe(
      'SKIFF_E_TOO_MANY_REQUESTS',
    );
    // another chain is not affected
    await expect(casts.cast(caster({ id: 'other-root' }), request())).resolves.toHaveLength(1);
  });

  it('fails the casts of a turn, and throws nothing, when the store fails', async () => {
    const { casts } = host({
      chainSize: () => {
        throw new Error('SQLITE_IOERR: disk I/O error');
      },
    });
    const outcomes = await Promise.allSettled([
      casts.cast(caster(), request()),
      casts.cast(caster(), request()),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(((outcomes[0] as PromiseRejectedResult).reason as SkiffError).code).toBe('SKIFF_E_INTERNAL');
  });

  it("lets a retried attempt at its chain's budget find what it cast, though it may cast nothing new", async () => {
    const accepted: NewAsync[] = [];
    const { casts } = host({
      maxChainCasts: 1,
      acceptGroups: (groups) =>
        groups.map((group) => group.map((req) => (accepted.push(req), `id-${accepted.length}`))),
      chainSize: (rootId) => accepted.filter((r) => r.chain?.rootId === rootId).length,
      hasCastKey: (key) => accepted.some((r) => r.castKey === key),
    });
    await expect(casts.cast(caster(), request({ seq: 0 }))).resolves.toHaveLength(1);
    // the retry's first cast has the same key: admitted (the store answers the first one's id)
    await expect(casts.cast(caster(), request({ seq: 0 }))).resolves.toHaveLength(1);
    // a cast beyond what the first attempt made is refused
    expect((await refusal(casts.cast(caster(), request({ seq: 1 })))).code).toBe('SKIFF_E_TOO_MANY_REQUESTS');
  });
});
