import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../shared/errors.js';
import { functionRoutes } from './functions.js';
import { invocationRoutes } from './invocations.js';
import { metaRoutes } from './meta.js';
import { openApiDocument } from './openapi.js';

// The route table is data: the handlers are never called, so the dependencies can be dummies.
const routes = [...metaRoutes({} as never), ...invocationRoutes({} as never), ...functionRoutes({} as never)];
const paths = openApiDocument.paths as Record<
  string,
  Record<string, { security?: unknown; responses: object }>
>;

describe('openApiDocument', () => {
  it('documents every route of the control API with its method, and no other', () => {
    const documented = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
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
    expect(openApiDocument.components.schemas.Error.properties.error.properties.code.enum).toEqual(
      Object.keys(ERROR_CODES),
    );
    for (const [, target] of text.matchAll(/"\$ref":"#\/([^"]+)"/g)) {
      const found = (target ?? '')
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], openApiDocument);
      expect(found, target).toBeDefined();
    }
  });
});
