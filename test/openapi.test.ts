/**
 * The OpenAPI document against real answers: a running platform's responses on every route are
 * validated against the response schema the document gives for that route and status. The schemas are
 * read from the served document (its JSON), not from the zod objects it was generated from, so a view
 * that sends a field its schema lacks, or lacks one it requires, fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiDocument } from '../src/control/openapi.js';
import { packDirectory } from '../src/store/archive/pack.js';
import { fixture, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/wait.js';

type Node = Record<string, unknown>;

/** The echo fixture as a tar.gz, as `skiff fn deploy` packs it. */
const archive = (): Promise<Buffer> => packDirectory(fixture('echo-cjs'));

/** The document with every `$ref` replaced by what it points at (the document has no cycles). */
function inline(node: unknown, doc: Node): unknown {
  if (Array.isArray(node)) return node.map((item) => inline(item, doc));
  if (typeof node !== 'object' || node === null) return node;
  const ref = (node as Node).$ref;
  if (typeof ref === 'string') {
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, key) => (at as Node)[key], doc);
    return inline(target, doc);
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, inline(value, doc)]));
}

describe('the OpenAPI document and the real answers of the control API', () => {
  let p: TestPlatform;
  let served: Node;
  let doc: Node;
  const checked = new Set<string>();

  /** The validator of a documented answer, made from the document's JSON Schema by zod. */
  function validator(method: string, template: string, status: number): z.ZodType | undefined {
    const paths = doc['paths'] as Record<string, Record<string, { responses: Record<string, Node> }>>;
    const documented = paths[template]?.[method.toLowerCase()]?.responses[String(status)];
    expect(documented, `${method} ${template} ${status} is documented`).toBeDefined();
    const content = documented?.['content'] as Record<string, { schema: Node }> | undefined;
    const schema = content?.['application/json']?.schema;
    return schema === undefined ? undefined : z.fromJSONSchema(schema as z.core.JSONSchema.JSONSchema);
  }

  /** Calls a route and validates its answer against the document; returns the body. */
  async function call(
    method: string,
    template: string,
    url: string,
    expected: number,
    init: RequestInit = {},
  ): Promise<unknown> {
    const res = await p.api(url, { ...init, method });
    const text = await res.text();
    expect(res.status, `${method} ${url}: ${text.slice(0, 300)}`).toBe(expected);
    const schema = validator(method, template, expected);
    checked.add(`${method} ${template} ${expected}`);
    if (schema === undefined) {
      expect(text, `${method} ${url} has no body`).toBe('');
      return undefined;
    }
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = JSON.parse(text) as unknown;
    const result = schema.safeParse(body);
    expect(result.error?.issues, `${method} ${url}: ${text.slice(0, 300)}`).toBeUndefined();
    return body;
  }

  beforeAll(async () => {
    p = await startPlatform();
    served = (await (await fetch(`${p.controlUrl}/v1/openapi.json`)).json()) as Node;
    doc = inline(served, served) as Node;
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('serves the document it is built from, and it reads back with every reference resolved', async () => {
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect(JSON.stringify(doc)).not.toContain('$ref');
  });

  it('answers every route with a body its documented schema accepts', async () => {
    const name = '/v1/functions/{name}';
    const upload = { body: new Uint8Array(await archive()), headers: { 'content-type': 'application/gzip' } };
    await call('PUT', name, '/v1/functions/oa-echo?maxQueueWaitMs=3600000&minInstances=1', 201, upload);
    await call(
      'POST',
      '/v1/functions/{name}/versions',
      '/v1/functions/oa-echo/versions?concurrency=5',
      200,
      upload,
    );

    const queued = await p.call('/oa-echo/x', { method: 'POST', headers: { 'x-skiff-async': 'true' } });
    expect(queued.status).toBe(202);
    const { id } = (await queued.json()) as { id: string };
    await waitFor('the asynchronous call to finish', async () => {
      const res = await p.api(`/v1/invocations/${id}`);
      const { invocation } = (await res.json()) as { invocation: { status: string } };
      return invocation.status === 'succeeded' ? true : undefined;
    });

    await call('GET', '/v1/functions', '/v1/functions', 200);
    const detail = (await call('GET', name, '/v1/functions/oa-echo', 200)) as {
      function: { instances: unknown[]; versions: unknown[] };
    };
    expect(detail.function.instances.length).toBeGreaterThan(0);
    expect(detail.function.versions).toHaveLength(2);
    // the check can fail: a field too many or one missing is refused
    const schema = validator('GET', name, 200);
    const { instances, ...lacking } = detail.function;
    expect(schema?.safeParse({ function: lacking }).success).toBe(false);
    expect(schema?.safeParse({ function: { ...detail.function, extra: 1 } }).success).toBe(false);
    expect(schema?.safeParse({ function: { ...detail.function, instances } }).success).toBe(true);
    await call('GET', '/v1/functions/{name}/versions/{version}', '/v1/functions/oa-echo/versions/1', 200);
    await call('GET', '/v1/functions/{name}/logs', '/v1/functions/oa-echo/logs?limit=50', 200);
    await call('PUT', '/v1/functions/{name}/secrets/{secret}', '/v1/functions/oa-echo/secrets/API_KEY', 204, {
      body: JSON.stringify({ value: 'v' }),
    });
    await call('GET', '/v1/functions/{name}/secrets', '/v1/functions/oa-echo/secrets', 200);
    await call('PATCH', '/v1/functions/{name}/scaling', '/v1/functions/oa-echo/scaling', 200, {
      body: JSON.stringify({ maxQueueWaitMs: 3_600_000, concurrency: null }),
    });
    await call('DELETE', '/v1/functions/{name}/scaling', '/v1/functions/oa-echo/scaling', 200);
    await call('GET', '/v1/invocations', '/v1/invocations?function=oa-echo', 200);
    await call('GET', '/v1/invocations/{id}', `/v1/invocations/${id}`, 200);
    await call('GET', '/v1/executor', '/v1/executor', 200);
    await call('GET', '/v1/health', '/v1/health', 200);
    await call('GET', '/v1/health/live', '/v1/health/live', 200);
    await call('GET', '/v1/health/ready', '/v1/health/ready', 200);
    await call('GET', '/v1/status', '/v1/status', 200);
    await call(
      'DELETE',
      '/v1/functions/{name}/secrets/{secret}',
      '/v1/functions/oa-echo/secrets/API_KEY',
      204,
    );
    const key = '/v1/functions/{name}/state/{key}';
    const jsonValue = (value: unknown, headers: Record<string, string> = {}) => ({
      body: JSON.stringify(value),
      headers: { 'content-type': 'application/json', ...headers },
    });
    await call('PUT', key, '/v1/functions/oa-echo/state/a%2Fb', 201, jsonValue({ n: 1 }));
    await call(
      'PUT',
      key,
      '/v1/functions/oa-echo/state/a%2Fb',
      200,
      jsonValue({ n: 2 }, { 'if-match': '"1"' }),
    );
    expect(await call('GET', key, '/v1/functions/oa-echo/state/a%2Fb', 200)).toEqual({ n: 2 });
    await call('GET', '/v1/functions/{name}/state', '/v1/functions/oa-echo/state?prefix=a', 200);
    await call('DELETE', key, '/v1/functions/oa-echo/state/a%2Fb', 204);
    const workflow = '/v1/workflows/{name}';
    const spec = (functions: unknown, description?: string) => ({
      body: JSON.stringify({ functions, ...(description === undefined ? {} : { description }) }),
      headers: { 'content-type': 'application/json' },
    });
    await call('PUT', workflow, '/v1/workflows/oa-flow', 201, spec({ 'oa-echo': { out: ['oa-echo'] } }, 'd'));
    await call(
      'PUT',
      workflow,
      '/v1/workflows/oa-flow',
      200,
      spec({ 'oa-echo': { out: [], x: ['oa-echo'] } }),
    );
    await call('GET', workflow, '/v1/workflows/oa-flow', 200);
    await call('GET', '/v1/workflows', '/v1/workflows', 200);
    await call('DELETE', workflow, '/v1/workflows/oa-flow', 204);
    await call('DELETE', name, '/v1/functions/oa-echo', 204);
    expect(checked.size).toBe(29);
  });

  it('answers refusals with the documented error body', async () => {
    await call('GET', '/v1/functions/{name}', '/v1/functions/no-such-function', 404);
    await call('GET', '/v1/functions/{name}', '/v1/functions/Bad_Name', 400);
    await call('GET', '/v1/invocations', '/v1/invocations?limit=0', 400);
    await call('GET', '/v1/invocations/{id}', '/v1/invocations/nothing', 404);
    await call('PUT', '/v1/functions/{name}', '/v1/functions/oa-bad?maxQueueWaitMs=3600001', 400, {
      body: new Uint8Array(await archive()),
      headers: { 'content-type': 'application/gzip' },
    });
    await call('PUT', '/v1/functions/{name}', '/v1/functions/oa-bad?runtime=cobol', 400, {
      body: new Uint8Array(await archive()),
      headers: { 'content-type': 'application/gzip' },
    });
    await call('GET', '/v1/functions/{name}/state/{key}', '/v1/functions/no-such-function/state/k', 404);
    await call('GET', '/v1/functions/{name}/state', '/v1/functions/no-such-function/state', 404);
    await call('PATCH', '/v1/functions/{name}/scaling', '/v1/functions/no-such-function/scaling', 404, {
      body: JSON.stringify({ concurrency: 2 }),
    });
    const workflow = '/v1/workflows/{name}';
    await call('GET', workflow, '/v1/workflows/no-such-workflow', 404);
    await call('DELETE', workflow, '/v1/workflows/no-such-workflow', 404);
    await call('PUT', workflow, '/v1/workflows/oa-bad', 400, {
      body: JSON.stringify({ functions: { 'no-such-function': {} } }),
      headers: { 'content-type': 'application/json' },
    });
    await call('PUT', workflow, '/v1/workflows/oa-bad', 415, {
      body: 'functions',
      headers: { 'content-type': 'text/plain' },
    });
    await call('PUT', workflow, '/v1/workflows/oa-bad', 413, {
      body: JSON.stringify({ functions: {}, description: 'x'.repeat(65 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
  });
});
