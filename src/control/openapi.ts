/**
 * The OpenAPI 3.1 document of the control API, served at GET /v1/openapi.json. It describes the
 * routes of functions.ts and meta.ts; openapi.test.ts fails when a route is missing here.
 */
import { SCALING_FIELDS } from '../model/scaling.js';
import { RUNTIME_NAMES } from '../model/spec.js';
import { parameters, responses, schemas, securitySchemes } from './openapi-schemas.js';

const json = (schema: object) => ({ 'application/json': { schema } }) as const;
const schemaRef = (name: keyof typeof schemas) => ({ $ref: `#/components/schemas/${name}` }) as const;
const response = (name: keyof typeof responses) => ({ $ref: `#/components/responses/${name}` }) as const;
const nameParam = { $ref: '#/components/parameters/name' } as const;
const secretParam = { $ref: '#/components/parameters/secret' } as const;

/** Media types a deploy accepts (a missing Content-Type counts as application/octet-stream). */
const archive = { schema: { type: 'string', format: 'binary' } } as const;
const deployBody = {
  required: true,
  description:
    'The function folder as a zip or a tar.gz archive. The format is recognised from the bytes; the ' +
    'media type only has to be one of these.',
  content: {
    'application/zip': archive,
    'application/gzip': archive,
    'application/x-zip-compressed': archive,
    'application/x-gzip': archive,
    'application/x-tar+gzip': archive,
    'application/octet-stream': archive,
  },
} as const;

const deployParameters = [
  nameParam,
  {
    name: 'runtime',
    in: 'query',
    description: 'Overrides `runtime` in skiff.json.',
    schema: { type: 'string', enum: [...RUNTIME_NAMES] },
  },
  {
    name: 'handler',
    in: 'query',
    description: 'Overrides `handler` in skiff.json: the entry file, relative to the folder.',
    schema: { type: 'string', minLength: 1 },
  },
  ...SCALING_FIELDS.map((field) => ({
    name: field,
    in: 'query',
    description: `Overrides \`scaling.${field}\` in skiff.json (see the Scaling schema).`,
    schema: { type: 'integer', minimum: 0 },
  })),
] as const;

const deployErrors = {
  '400': response('BadRequest'),
  '401': response('Unauthorized'),
  '413': response('PayloadTooLarge'),
  '415': response('UnsupportedMediaType'),
  '422': response('Unprocessable'),
  '500': response('Internal'),
} as const;

const deployed = (description: string) =>
  ({ description, content: json(schemaRef('DeployResult')) }) as const;

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Skiff control API',
    version: '1',
    description:
      'Management API of a Skiff platform. Every route needs `Authorization: Bearer <admin token>` unless ' +
      'marked otherwise; without a valid token even unknown routes answer 401. Errors always have the ' +
      'body `{ "error": { "code", "message", "details"? } }`; a known path with another method answers ' +
      '405 SKIFF_E_METHOD_NOT_ALLOWED and an unknown path 404 SKIFF_E_NOT_FOUND. Any request with an ' +
      "`Origin` that is not the API's own, or a `Host` that is not the address it listens on (or a name " +
      'in `control.allowedHosts`), answers 403 SKIFF_E_FORBIDDEN first (web pages, DNS rebinding).',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  servers: [{ url: 'http://127.0.0.1:8080', description: 'The default address of `skiff serve`' }],
  security: [{ bearerAuth: [] }],
  tags: [
    { name: 'functions', description: 'Deploy, inspect and delete functions.' },
    {
      name: 'invocations',
      description:
        'Asynchronous invocations (`X-Skiff-Async: true` or `Prefer: respond-async` on the gateway): queued on ' +
        'disk before the 202, delivered at least once, each ending succeeded, failed (dead letter) or expired.',
    },
    {
      name: 'secrets',
      description:
        'Secrets of a function: given to its instances in the environment and in `ctx.secrets`, never shown ' +
        'back. They are not part of a version; a change restarts the instances.',
    },
    { name: 'meta', description: 'The API itself; no token needed.' },
  ],
  paths: {
    '/v1/functions': {
      get: {
        operationId: 'listFunctions',
        tags: ['functions'],
        summary: 'List functions',
        responses: {
          '200': {
            description: 'Every function, in registry order.',
            content: json({
              type: 'object',
              required: ['functions'],
              properties: { functions: { type: 'array', items: schemaRef('FunctionSummary') } },
            }),
          },
          '401': response('Unauthorized'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/functions/{name}': {
      put: {
        operationId: 'deployFunction',
        tags: ['functions'],
        summary: 'Create a function or deploy a new version of it',
        description:
          'Extracts and builds the archive, starts the new version and makes it live once it is ready; the ' +
          'previous version drains. A failed build is recorded as a failed version and answers 422.',
        parameters: deployParameters,
        requestBody: deployBody,
        responses: {
          '200': deployed('A new version of an existing function is live.'),
          '201': deployed('The function was created and its first version is live.'),
          ...deployErrors,
        },
      },
      get: {
        operationId: 'getFunction',
        tags: ['functions'],
        summary: 'Get a function with its versions and instances',
        parameters: [nameParam],
        responses: {
          '200': {
            description: 'The function.',
            content: json({
              type: 'object',
              required: ['function'],
              properties: { function: schemaRef('FunctionDetail') },
            }),
          },
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
      delete: {
        operationId: 'deleteFunction',
        tags: ['functions'],
        summary: 'Delete a function, its versions, code and logs',
        parameters: [nameParam],
        responses: {
          '204': { description: 'Deleted; its instances were drained and stopped.' },
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/functions/{name}/versions': {
      post: {
        operationId: 'deployVersion',
        tags: ['functions'],
        summary: 'Deploy a new version of an existing function',
        description: 'Like PUT /v1/functions/{name}, but refuses to create the function (404).',
        parameters: deployParameters,
        requestBody: deployBody,
        responses: {
          '200': deployed('The new version is live.'),
          '404': response('NotFound'),
          ...deployErrors,
        },
      },
    },
    '/v1/functions/{name}/versions/{version}': {
      get: {
        operationId: 'getVersion',
        tags: ['functions'],
        summary: 'One version of a function, with its build log',
        description: `A function keeps its last \`functions.maxVersions\` versions; older ones answer 404.`,
        parameters: [
          nameParam,
          { name: 'version', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
        ],
        responses: {
          '200': {
            description: 'The version.',
            content: json({
              type: 'object',
              required: ['version'],
              properties: { version: schemaRef('Version') },
            }),
          },
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/functions/{name}/logs': {
      get: {
        operationId: 'getFunctionLogs',
        tags: ['functions'],
        summary: 'The last log lines of a function',
        parameters: [
          nameParam,
          {
            name: 'limit',
            in: 'query',
            description: 'How many of the newest entries to return.',
            schema: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
          },
        ],
        responses: {
          '200': {
            description: 'Log entries, oldest first (build output, function output and platform lines).',
            content: json({
              type: 'object',
              required: ['logs'],
              properties: { logs: { type: 'array', items: schemaRef('LogEntry') } },
            }),
          },
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/functions/{name}/secrets': {
      get: {
        operationId: 'listSecrets',
        tags: ['secrets'],
        summary: 'List the names of a function’s secrets (never the values)',
        parameters: [nameParam],
        responses: {
          '200': { description: 'The secrets, by name.', content: json(schemaRef('SecretList')) },
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/functions/{name}/secrets/{secret}': {
      put: {
        operationId: 'setSecret',
        tags: ['secrets'],
        summary: 'Create or replace a secret',
        description:
          'At most 100 secrets per function. Does not make a new version: the function’s instances are ' +
          'restarted (in-flight calls finish) and the next call sees the new value.',
        parameters: [nameParam, secretParam],
        requestBody: { required: true, content: json(schemaRef('SecretValue')) },
        responses: {
          '204': { description: 'Stored; the function’s instances were restarted.' },
          '400': response('SecretBadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
      delete: {
        operationId: 'deleteSecret',
        tags: ['secrets'],
        summary: 'Delete a secret',
        parameters: [nameParam, secretParam],
        responses: {
          '204': { description: 'Deleted; the function’s instances were restarted.' },
          '400': response('SecretBadRequest'),
          '401': response('Unauthorized'),
          '404': response('SecretNotFound'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/functions/{name}/scaling': {
      patch: {
        operationId: 'setScaling',
        tags: ['functions'],
        summary: 'Change how a function scales, without a redeploy',
        description:
          'Merges the fields into the function’s scaling override (null removes a field), which wins over ' +
          'skiff.json and survives redeploys. Running versions take the settings at once: minInstances ' +
          'are started, extra idle instances stop, a higher concurrency serves the queue.',
        parameters: [nameParam],
        requestBody: { required: true, content: json(schemaRef('ScalingPatch')) },
        responses: {
          '200': {
            description: 'The effective settings and the override.',
            content: json(schemaRef('ScalingResult')),
          },
          '400': response('ScalingBadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
      delete: {
        operationId: 'resetScaling',
        tags: ['functions'],
        summary: 'Remove the scaling override: back to skiff.json and the platform defaults',
        parameters: [nameParam],
        responses: {
          '200': {
            description: 'The effective settings; override is null.',
            content: json(schemaRef('ScalingResult')),
          },
          '400': response('ScalingBadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/invocations': {
      get: {
        operationId: 'listInvocations',
        tags: ['invocations'],
        summary: 'Asynchronous invocations, newest first',
        parameters: [
          { name: 'function', in: 'query', schema: { type: 'string' }, description: 'Only this function’s.' },
          {
            name: 'status',
            in: 'query',
            schema: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'expired'] },
          },
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
          },
        ],
        responses: {
          '200': {
            description: 'The invocations.',
            content: json({
              type: 'object',
              required: ['invocations'],
              properties: { invocations: { type: 'array', items: schemaRef('AsyncInvocation') } },
            }),
          },
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
        },
      },
    },
    '/v1/invocations/{id}': {
      get: {
        operationId: 'getInvocation',
        tags: ['invocations'],
        summary: 'One asynchronous invocation: its status, attempts and result',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'The invocation.',
            content: json({
              type: 'object',
              required: ['invocation'],
              properties: { invocation: schemaRef('AsyncInvocation') },
            }),
          },
          '401': response('Unauthorized'),
          '404': response('InvocationNotFound'),
        },
      },
    },
    '/v1/executor': {
      get: {
        operationId: 'getExecutor',
        tags: ['meta'],
        summary: 'The executor as a whole: pre-started bridge processes waiting, per runtime',
        responses: {
          '200': {
            description: 'How many warm-pool processes wait for a cold start, per runtime.',
            content: json({
              type: 'object',
              required: ['warmPool'],
              properties: {
                warmPool: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } },
              },
            }),
          },
          '401': response('Unauthorized'),
        },
      },
    },
    '/v1/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        tags: ['meta'],
        summary: 'This document',
        security: [],
        responses: { '200': { description: 'The OpenAPI document.', content: json({ type: 'object' }) } },
      },
    },
    '/v1/health': {
      get: {
        operationId: 'getHealth',
        tags: ['meta'],
        summary: 'Liveness check',
        security: [],
        responses: {
          '200': {
            description: 'The control API is up.',
            content: json({
              type: 'object',
              required: ['status'],
              properties: { status: { type: 'string', const: 'ok' } },
            }),
          },
        },
      },
    },
  },
  components: { schemas, responses, parameters, securitySchemes },
} as const;
