/**
 * The state routes' part of the OpenAPI document (openapi.ts spreads it into `paths`): list keys,
 * and get, set and delete one value, with the compare-and-set headers.
 */
import { STATE_CONTENT_TYPES } from '../model/state.js';
import { stateListQuery, stateParams } from './request-schemas.js';
import { parameters, schemaRef, type Parameter, type SchemaName } from './openapi-schemas.js';

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` }) as const;
const answer = (description: string, name: SchemaName) =>
  ({ description, content: { 'application/json': { schema: schemaRef(name) } } }) as const;
const etag = {
  ETag: { description: 'The key’s version, quoted: `"7"`.', schema: { type: 'string' } },
} as const;

const ifMatch: Parameter = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description: 'Compare-and-set: write only if the key is at this version (`3` or the ETag `"3"`); else 409.',
  schema: { type: 'string' },
};
const ifNoneMatch: Parameter = {
  name: 'If-None-Match',
  in: 'header',
  required: false,
  description: '`*`: create only, if the key does not exist yet; else 409.',
  schema: { type: 'string', enum: ['*'] },
};

const keyParameters = parameters('path', stateParams);
const tags = ['state'];
const errors = {
  '400': ref('StateBadRequest'),
  '401': ref('Unauthorized'),
  '404': ref('StateNotFound'),
  '500': ref('Internal'),
} as const;
const anyValue = { schema: {} } as const;
const bytesValue = { schema: { type: 'string', format: 'binary' } } as const;

export const statePaths = {
  '/v1/functions/{name}/state': {
    get: {
      operationId: 'listState',
      tags,
      summary: 'List a function’s state keys (with versions and sizes, without values), a page at a time',
      parameters: [
        ...parameters('path', stateParams.pick({ name: true })),
        ...parameters('query', stateListQuery),
      ],
      responses: {
        '200': answer('A page of keys, the function’s usage and the caps.', 'StateList'),
        '400': ref('StateBadRequest'),
        '401': ref('Unauthorized'),
        '404': ref('NotFound'),
        '500': ref('Internal'),
      },
    },
  },
  '/v1/functions/{name}/state/{key}': {
    get: {
      operationId: 'getState',
      tags,
      summary: 'One value, as it was stored, with its content type and its version in ETag',
      parameters: keyParameters,
      responses: {
        '200': {
          description: 'The value: JSON or bytes, as set.',
          headers: etag,
          content: { 'application/json': anyValue, 'application/octet-stream': bytesValue },
        },
        ...errors,
      },
    },
    put: {
      operationId: 'setState',
      tags,
      summary: 'Set a value (optionally compare-and-set)',
      description:
        'The body is the value; `Content-Type: application/json` stores JSON (it must parse), ' +
        '`application/octet-stream` (or none) bytes. Each set adds 1 to the key’s version.',
      parameters: [...keyParameters, ifMatch, ifNoneMatch],
      requestBody: {
        required: true,
        content: Object.fromEntries(
          STATE_CONTENT_TYPES.map((type) => [type, type === 'application/json' ? anyValue : bytesValue]),
        ),
      },
      responses: {
        '200': { ...answer('Replaced.', 'StateWrite'), headers: etag },
        '201': { ...answer('Created, at version 1.', 'StateWrite'), headers: etag },
        '400': ref('StateBadRequest'),
        '401': ref('Unauthorized'),
        '404': ref('NotFound'),
        '409': ref('StateConflict'),
        '413': ref('StateTooLarge'),
        '415': ref('UnsupportedMediaType'),
        '500': ref('Internal'),
        '507': ref('StateFull'),
      },
    },
    delete: {
      operationId: 'deleteState',
      tags,
      summary: 'Delete a value (optionally only at a version)',
      parameters: [...keyParameters, ifMatch],
      responses: {
        '204': { description: 'Deleted.' },
        ...errors,
        '409': ref('StateConflict'),
      },
    },
  },
} as const;
