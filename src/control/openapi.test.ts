import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { limitFields } from '../model/limits.js';
import { scalingFields } from '../model/scaling.js';
import { ERROR_CODES } from '../shared/errors.js';
import { functionRoutes } from './functions.js';
import { invocationRoutes } from './invocations.js';
import { backupRoutes, metaRoutes } from './meta.js';
import { metricsRoutes } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { statusRoutes } from './status.js';
import { tokenRoutes } from './tokens.js';
import { workflowRoutes } from './workflows.js';

// The route table is data: the handlers are never called, so the dependencies can be dummies.
const routes = [
  ...metaRoutes({} as never),
  ...invocationRoutes({} as never),
  ...functionRoutes({} as never),
  ...workflowRoutes({} as never),
  ...tokenRoutes({} as never),
  ...statusRoutes({} as never),
  ...metricsRoutes({} as never, { adminToken: 'admin', metricsToken: null, public: false }),
  ...backupRoutes('', {} as never),
];

interface Node {
  [key: string]: unknown;
}
interface Operation {
  operationId?: string;
  security?: unknown;
  parameters?: Node[];
  requestBody?: Node;
  responses: Record<string, Node>;
}
const doc = openApiDocument as unknown as Node & { paths: Record<string, Record<string, Operation>> };
const paths = doc.paths;

/** The node a `#/...` reference points at. */
function resolve(ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Node | undefined)?.[key], doc);
}

/** Follows references to the node itself. */
function deref(node: unknown): Node {
  let out = node as Node;
  while (typeof out.$ref === 'string') out = resolve(out.$ref) as Node;
  return out;
}

const component = (name: string) => deref({ $ref: `#/components/schemas/${name}` });
const property = (schema: Node, name: string) => deref((schema.properties as Node)[name]);
const operations = Object.entries(paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ path, method, op })),
);
const bounds = (s: Node) => ({ minimum: s.minimum, maximum: s.maximum });
const zodBounds = (field: z.ZodNumber) => ({
  minimum: field.minValue ?? undefined,
  maximum: field.maxValue ?? undefined,
});

describe('openApiDocument', () => {
  it('documents every route of the control API with its method, and no other', () => {
    const documented = operations.map(({ path, method }) => `${method.toUpperCase()} ${path}`);
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('marks exactly the public routes as needing no token, and lists 401 on the others', () => {
    for (const route of routes) {
      const op = paths[route.path]?.[route.method.toLowerCase()];
      expect(op?.security, `${route.method} ${route.path}`).toEqual(route.public === true ? [] : undefined);
      expect(Object.hasOwn(op?.responses ?? {}, '401'), `${route.method} ${route.path}`).toBe(
        route.public !== true,
      );
    }
  });

  it('lists every error code and resolves every $ref', () => {
    const text = JSON.stringify(openApiDocument);
    const error = property(component('Error'), 'error');
    expect(property(error, 'code').enum).toEqual(Object.keys(ERROR_CODES));
    const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map(([, target]) => target ?? '');
    expect(refs.length).toBeGreaterThan(20);
    for (const target of refs) {
      expect(target, target).toMatch(/^#\//);
      expect(resolve(target), target).toBeDefined();
    }
  });

  it('has the scaling bounds of the zod schemas wherever scaling fields appear', () => {
    const scaling = component('Scaling');
    const settings = component('ScalingSettings');
    const patch = component('ScalingPatch');
    const deploy = paths['/v1/functions/{name}']?.put?.parameters ?? [];
    expect(Object.keys(scaling.properties as Node).sort()).toEqual(Object.keys(scalingFields).sort());
    for (const [name, field] of Object.entries(scalingFields)) {
      const expected = zodBounds(field);
      expect(bounds(property(scaling, name)), name).toEqual(expected);
      expect(bounds(property(settings, name)), name).toEqual(expected);
      const nullable = property(patch, name).anyOf as Node[];
      expect(
        nullable.map((s) => (s.type === 'null' ? null : bounds(s))),
        name,
      ).toEqual([expected, null]);
      const param = deploy.find((p) => p.name === name);
      expect(param?.in, name).toBe('query');
      expect(bounds(param?.schema as Node), name).toEqual(expected);
    }
    // the two that a hand-kept copy had lost
    expect(property(scaling, 'maxQueueWaitMs').maximum).toBe(3_600_000);
    expect(property(scaling, 'idleTimeoutMs').maximum).toBe(86_400_000);
    const limits = property(component('FunctionSpec'), 'limits');
    for (const [name, field] of Object.entries(limitFields)) {
      expect(bounds(property(limits, name)), name).toEqual(zodBounds(field));
    }
  });

  it('takes the query and body bounds of the routes from their schemas', () => {
    const logs = paths['/v1/functions/{name}/logs']?.get?.parameters ?? [];
    expect(logs.find((p) => p.name === 'limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
    });
    const secret = property(component('SecretValue'), 'value');
    expect(secret).toMatchObject({ type: 'string', maxLength: 64 * 1024 });
    expect(component('SecretValue')).toMatchObject({ required: ['value'], additionalProperties: false });
  });

  it('is shaped as an OpenAPI 3.1 document (no validator is installed: checked here)', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const allowed = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations) {
      const where = `${method} ${path}`;
      expect(path, where).toMatch(/^\//);
      expect(allowed.has(method), where).toBe(true);
      expect(op.operationId, where).toEqual(expect.any(String));
      const params = (op.parameters ?? []).map(deref);
      for (const p of params) {
        expect(['path', 'query', 'header', 'cookie'], where).toContain(p.in);
        expect(p.schema, `${where} ${String(p.name)}`).toEqual(expect.any(Object));
        if (p.in === 'path') expect(p.required, `${where} ${String(p.name)}`).toBe(true);
      }
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
      expect(
        params.filter((p) => p.in === 'path').map((p) => p.name),
        where,
      ).toEqual(inPath);
      for (const [status, res] of Object.entries(op.responses)) {
        expect(status, where).toMatch(/^(?:[1-5]\d\d|default)$/);
        expect(deref(res).description, `${where} ${status}`).toEqual(expect.any(String));
      }
      if (op.requestBody !== undefined) expect(op.requestBody.content, where).toEqual(expect.any(Object));
    }
  });

  it('has component schemas in JSON Schema draft 2020-12 that read back as validators', () => {
    const schemas = (doc.components as { schemas: Record<string, Node> }).schemas;
    for (const [name, schema] of Object.entries(schemas)) {
      // a component is embedded: no $schema or $id of its own (a fragment $id is invalid in 2020-12)
      expect(schema.$schema, name).toBeUndefined();
      expect(schema.$id, name).toBeUndefined();
      expect(JSON.stringify(schema), name).not.toMatch(/"definitions"|"\$defs"|"nullable"/);
    }
    // a generated schema validates what its zod schema accepts and refuses what it refuses
    const fromDoc = z.fromJSONSchema(schemas['Scaling'] as z.core.JSONSchema.JSONSchema);
    const ok = {
      minInstances: 0,
      maxInstances: 2,
      concurrency: 1,
      maxQueue: 0,
      maxQueueWaitMs: 1,
      idleTimeoutMs: 100,
    };
    expect(fromDoc.safeParse(ok).success).toBe(true);
    expect(fromDoc.safeParse({ ...ok, maxQueueWaitMs: 3_600_001 }).success).toBe(false);
    expect(fromDoc.safeParse({ ...ok, extra: 1 }).success).toBe(false);
  });
});
