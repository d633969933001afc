/**
 * Routes of a function's state (`/v1/functions/{name}/state`): list keys, and get, set and delete one
 * value. A value goes in and comes out as the raw body; its Content-Type says JSON or bytes. The key's
 * version is in `ETag` (`"7"`), and `If-Match: 7` / `If-None-Match: *` make a set or delete
 * conditional (compare-and-set): a mismatch answers 409 SKIFF_E_STATE_CONFLICT naming the version.
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import type { FunctionState, StateCondition, StateContentType } from '../model/state.js';
import { stateConflict } from '../shared/state-conflict.js';
import { SkiffError } from '../shared/errors.js';
import { readBody, sendJson } from '../shared/http.js';
import { validateName } from '../shared/validate.js';
import type { Registry } from '../store/registry.js';
import type { Route } from './app.js';
import { parseRequest, queryObject, stateListQuery, stateParams } from './request-schemas.js';
import type { stateListSchema, stateWriteSchema } from './response-schemas.js';

export interface StateDeps {
  registry: Registry;
  state: FunctionState;
  /** Whether a dialect serves this name itself (an external target): its state is reachable too. */
  isExternal?: (name: string) => boolean;
}

const invalid = (message: string) => new SkiffError('SKIFF_E_INVALID_REQUEST', message);

/** `7`, `"7"` or `W/"7"` → 7. */
function parseVersionTag(raw: string, header: string): number {
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(raw.trim());
  if (m?.[1] === undefined)
    throw invalid(
      `${header} must be one version (If-Match: 3, or the ETag "3"), not ${JSON.stringify(raw.slice(0, 50))}`,
    );
  return Number(m[1]);
}

/** The condition of a set or delete, from `If-Match` / `If-None-Match`. */
export function conditionOf(req: IncomingMessage): StateCondition {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifMatch !== undefined && ifNoneMatch !== undefined)
    throw invalid('send If-Match or If-None-Match, not both');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*')
      throw invalid('If-None-Match takes only * here (create the key only if it does not exist)');
    return { ifVersion: 0 };
  }
  if (ifMatch === undefined) return {};
  if (ifMatch.trim() === '*')
    throw invalid('If-Match needs the version to compare with (If-Match: 3), not *');
  const version = parseVersionTag(ifMatch, 'If-Match');
  if (version < 1) throw invalid('If-Match: versions start at 1 (use If-None-Match: * for "must not exist")');
  return { ifVersion: version };
}

/** JSON or bytes, from the Content-Type (none: bytes); anything else is refused. */
export function contentTypeOf(req: IncomingMessage): StateContentType {
  const raw = req.headers['content-type'];
  const type = (raw ?? 'application/octet-stream').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type === 'application/octet-stream') return type;
  throw new SkiffError(
    'SKIFF_E_UNSUPPORTED_MEDIA_TYPE',
    `send a state value as application/json (it must parse) or application/octet-stream (any bytes), not ${type}`,
  );
}

const notFound = (fn: string, key: string) =>
  new SkiffError(
    'SKIFF_E_STATE_NOT_FOUND',
    `function ${fn} has no state under key ${JSON.stringify(key)}; \`skiff state list ${fn}\` shows its keys`,
  );

/** Routes of the `state` sub-resource of a function. */
export function stateRoutes(deps: StateDeps): Route[] {
  const { registry, state } = deps;

  const requireFunction = (raw: string): string => {
    const name = validateName(raw);
    if (registry.getFunction(name) === undefined && deps.isExternal?.(name) !== true)
      throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `no function named ${JSON.stringify(name)}`);
    return name;
  };
  const keyOf = (raw: string): string =>
    parseRequest(stateParams.shape.key, raw, 'SKIFF_E_INVALID_STATE_KEY');

  return [
    {
      method: 'GET',
      path: '/v1/functions/{name}/state',
      handler: async ({ res, params, query }) => {
        const name = requireFunction(params['name'] ?? '');
        const { prefix, limit, after } = parseRequest(stateListQuery, queryObject(query));
        const list = await state.list(name, {
          limit,
          ...(prefix === undefined ? {} : { prefix }),
          ...(after === undefined ? {} : { after }),
        });
        sendJson(res, 200, { ...list, limits: state.limits } satisfies z.output<typeof stateListSchema>);
      },
    },
    {
      method: 'GET',
      path: '/v1/functions/{name}/state/{key}',
      handler: async ({ res, params }) => {
        const name = requireFunction(params['name'] ?? '');
        const key = keyOf(params['key'] ?? '');
        const entry = await state.get(name, key);
        if (entry === undefined) throw notFound(name, key);
        res
          .writeHead(200, {
            'content-type': entry.contentType,
            'content-length': entry.value.length,
            etag: `"${entry.version}"`,
            'last-modified': new Date(entry.updatedAt).toUTCString(),
            'cache-control': 'no-store',
          })
          .end(entry.value);
      },
    },
    {
      method: 'PUT',
      path: '/v1/functions/{name}/state/{key}',
      handler: async ({ req, res, params }) => {
        const name = requireFunction(params['name'] ?? '');
        const key = keyOf(params['key'] ?? '');
        const condition = conditionOf(req);
        const contentType = contentTypeOf(req);
        const max = state.limits.maxValueBytes;
        const value = await readBody(req, max).catch((err: unknown) => {
          if (err instanceof SkiffError && err.code === 'SKIFF_E_PAYLOAD_TOO_LARGE') {
            throw new SkiffError(
              'SKIFF_E_STATE_TOO_LARGE',
              `the value is larger than ${max} bytes, the most a state value may have (state.maxValueBytes)`,
            );
          }
          throw err;
        });
        // the function may have been deleted while the body arrived (its state dropped already): checked
        // again right before the write, which runs synchronously from here, so no row outlives it
        requireFunction(name);
        const written = await state.set(name, key, value, contentType, condition);
        if (!written.ok)
          throw stateConflict(`key ${JSON.stringify(key)} of ${name}`, written.currentVersion, condition);
        sendJson(
          res,
          written.created ? 201 : 200,
          { key, version: written.version, created: written.created } satisfies z.output<
            typeof stateWriteSchema
          >,
          { etag: `"${written.version}"` },
        );
      },
    },
    {
      method: 'DELETE',
      path: '/v1/functions/{name}/state/{key}',
      handler: async ({ req, res, params }) => {
        const name = requireFunction(params['name'] ?? '');
        const key = keyOf(params['key'] ?? '');
        if (req.headers['if-none-match'] !== undefined)
          throw invalid('a delete takes If-Match: <version>, not If-None-Match');
        const condition = conditionOf(req);
        const outcome = await state.delete(name, key, condition);
        if (!outcome.ok)
          throw stateConflict(`key ${JSON.stringify(key)} of ${name}`, outcome.currentVersion, condition);
        if (!outcome.deleted) throw notFound(name, key);
        res.writeHead(204).end();
      },
    },
  ];
}
