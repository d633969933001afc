/**
 * The OpenAPI 3.1 document of the control API, served at GET /v1/openapi.json. It describes the
 * routes of functions.ts, invocations.ts and meta.ts; openapi.test.ts fails when a route is missing
 * here. Every parameter, request body and answer schema is generated from the zod schema the route
 * validates with or answers by (openapi-schemas.ts); this file only says which belongs where.
 */
import {
  ARCHIVE_TYPES,
  deployQuery,
  deployScalingQuery,
  functionParams,
  invocationParams,
  invocationsQuery,
  secretParams,
  versionParams,
} from './request-schemas.js';
import {
  parameters,
  responses,
  schemaRef,
  schemas,
  securitySchemes,
  type SchemaName,
} from './openapi-schemas.js';
import { logPaths } from './openapi-logs.js';
import { metricsPaths } from './openapi-metrics.js';
import { statePaths } from './openapi-state.js';
import { trafficPaths } from './openapi-traffic.js';
import { backupPaths } from './openapi-backup.js';
import { workflowPaths, workflowTag } from './openapi-workflows.js';
import { tokenPaths, tokenTag } from './openapi-tokens.js';
import { statusPaths } from './openapi-status.js';

const json = (name: SchemaName) => ({ 'application/json': { schema: schemaRef(name) } }) as const;
const response = (name: keyof typeof responses) => ({ $ref: `#/components/responses/${name}` }) as const;
const answer = (description: string, name: SchemaName) => ({ description, content: json(name) }) as const;

const archive = { schema: { type: 'string', format: 'binary' } } as const;
/** A deploy's 200: its JSON result, or the progress stream a client asks for (progress-stream.ts). */
const deployAnswer = (description: string) =>
  ({
    description:
      `${description} With \`Accept: application/x-ndjson\` the answer is 200 at once and a stream of ` +
      'progress events, one JSON object a line: `{"type":"step","step":…}`, `{"type":"output","line":…}` ' +
      '(a build log line as it is added; `"cut":true` on a line saying output was left out), and last ' +
      '`{"type":"result","status":200|201,"body":DeployResult}` or `{"type":"error","status":…,"error":…}`.',
    content: {
      ...json('DeployResult'),
      'application/x-ndjson': { schema: { type: 'string' } },
    },
  }) as const;
const deployBody = {
  required: true,
  description:
    'The function folder as a zip or a tar.gz archive. The format is recognised from the bytes; the ' +
    'media type only has to be one of these.',
  content: Object.fromEntries(ARCHIVE_TYPES.map((type) => [type, archive])),
};

const deployParameters = [
  ...parameters('path', functionParams),
  ...parameters('query', deployQuery),
  ...parameters('query', deployScalingQuery).map((p) => ({
    ...p,
    description: `Overrides \`scaling.${p.name}\` in skiff.json. ${p.description ?? ''}`.trim(),
  })),
];

const deployErrors = {
  '400': response('BadRequest'),
  '401': response('Unauthorized'),
  '413': response('PayloadTooLarge'),
  '415': response('UnsupportedMediaType'),
  '422': response('Unprocessable'),
  '500': response('Internal'),
} as const;

const nameErrors = {
  '400': response('BadRequest'),
  '401': response('Unauthorized'),
  '404': response('NotFound'),
  '500': response('Internal'),
} as const;

const fnTags = ['functions'];

const nameParameters = parameters('path', functionParams);

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
    {
      name: 'state',
      description:
        'Per-function state: a key-value store each function owns, kept across restarts, with a version ' +
        'per key for compare-and-set. Deleted with the function.',
    },
    workflowTag,
    tokenTag,
    { name: 'meta', description: 'The API itself; no token needed.' },
  ],
  paths: {
    '/v1/functions': {
      get: {
        operationId: 'listFunctions',
        tags: fnTags,
        summary: 'List functions',
        responses: {
          '200': answer('Every function, in registry order.', 'FunctionList'),
          '401': response('Unauthorized'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/functions/{name}': {
      put: {
        operationId: 'deployFunction',
        tags: fnTags,
        summary: 'Create a function or deploy a new version of it',
        description:
          'Extracts and builds the archive, starts the new version and makes it live once it is ready; the ' +
          'previous version drains. A failed build is recorded as a failed version and answers 422.',
        parameters: deployParameters,
        requestBody: deployBody,
        responses: {
          '200': deployAnswer('A new version of an existing function is live.'),
          '201': answer('The function was created and its first version is live.', 'DeployResult'),
          ...deployErrors,
        },
      },
      get: {
        operationId: 'getFunction',
        tags: fnTags,
        summary: 'Get a function with its versions and instances',
        parameters: nameParameters,
        responses: { '200': answer('The function.', 'FunctionResponse'), ...nameErrors },
      },
      delete: {
        operationId: 'deleteFunction',
        tags: fnTags,
        summary: 'Delete a function, its versions, code and logs',
        parameters: nameParameters,
        responses: {
          '204': { description: 'Deleted; its instances were drained and stopped.' },
          ...nameErrors,
        },
      },
    },
    '/v1/functions/{name}/versions': {
      post: {
        operationId: 'deployVersion',
        tags: fnTags,
        summary: 'Deploy a new version of an existing function',
        description: 'Like PUT /v1/functions/{name}, but refuses to create the function (404).',
        parameters: deployParameters,
        requestBody: deployBody,
        responses: {
          '200': deployAnswer('The new version is live.'),
          '404': response('NotFound'),
          ...deployErrors,
        },
      },
    },
    '/v1/functions/{name}/versions/{version}': {
      get: {
        operationId: 'getVersion',
        tags: fnTags,
        summary: 'One version of a function, with its build log',
        description: 'A function keeps its last `functions.maxVersions` versions; older ones answer 404.',
        parameters: parameters('path', versionParams),
        responses: {
          '200': answer('The version.', 'VersionResponse'),
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '404': response('VersionNotFound'),
          '500': response('Internal'),
        },
      },
    },
    ...logPaths,
    ...metricsPaths,
    '/v1/functions/{name}/secrets': {
      get: {
        operationId: 'listSecrets',
        tags: ['secrets'],
        summary: 'List the names of a function’s secrets (never the values)',
        parameters: nameParameters,
        responses: { '200': answer('The secrets, by name.', 'SecretList'), ...nameErrors },
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
        parameters: parameters('path', secretParams),
        requestBody: { required: true, content: json('SecretValue') },
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
        parameters: parameters('path', secretParams),
        responses: {
          '204': { description: 'Deleted; the function’s instances were restarted.' },
          '400': response('SecretBadRequest'),
          '401': response('Unauthorized'),
          '404': response('SecretNotFound'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/functions/{name}/rollback': {
      post: {
        operationId: 'rollbackFunction',
        tags: fnTags,
        summary: 'Make an earlier ready version live again, without a build',
        description:
          'Without a body (or with {}), the newest ready version before the live one; with { "version": n }, that one. ' +
          'An instance of it is started first, as for a deploy: a version that no longer starts never goes live.',
        parameters: nameParameters,
        requestBody: { required: false, content: json('RollbackRequest') },
        responses: {
          '200': answer('The version live now and the one live before.', 'RollbackResult'),
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
    },
    '/v1/functions/{name}/scaling': {
      patch: {
        operationId: 'setScaling',
        tags: fnTags,
        summary: 'Change how a function scales, without a redeploy',
        description:
          'Merges the fields into the function’s scaling override (null removes a field), which wins over ' +
          'skiff.json and survives redeploys. Running versions take the settings at once: minInstances ' +
          'are started, extra idle instances stop, a higher concurrency serves the queue.',
        parameters: nameParameters,
        requestBody: { required: true, content: json('ScalingPatch') },
        responses: {
          '200': answer('The effective settings and the override.', 'ScalingResult'),
          '400': response('ScalingBadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
      delete: {
        operationId: 'resetScaling',
        tags: fnTags,
        summary: 'Remove the scaling override: back to skiff.json and the platform defaults',
        parameters: nameParameters,
        responses: {
          '200': answer('The effective settings; override is null.', 'ScalingResult'),
          '400': response('ScalingBadRequest'),
          '401': response('Unauthorized'),
          '404': response('NotFound'),
          '500': response('Internal'),
        },
      },
    },
    ...trafficPaths,
    ...statePaths,
    ...workflowPaths,
    ...tokenPaths,
    ...statusPaths,
    ...backupPaths,
    '/v1/invocations': {
      get: {
        operationId: 'listInvocations',
        tags: ['invocations'],
        summary: 'Asynchronous invocations, newest first',
        parameters: parameters('query', invocationsQuery),
        responses: {
          '200': answer('The invocations.', 'InvocationList'),
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
        parameters: parameters('path', invocationParams),
        responses: {
          '200': answer('The invocation.', 'InvocationResponse'),
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
          '200': answer('How many warm-pool processes wait for a cold start, per runtime.', 'Executor'),
          '401': response('Unauthorized'),
        },
      },
    },
    '/v1/endpoints': {
      get: {
        operationId: 'getEndpoints',
        tags: ['meta'],
        summary: "The platform's listeners and their URLs (what `skiff login` records)",
        responses: {
          '200': answer('Listener name → URL.', 'Endpoints'),
          '401': response('Unauthorized'),
        },
      },
    },
    '/v1/limits': {
      get: {
        operationId: 'getLimits',
        tags: ['meta'],
        summary: 'What a client may send: the largest deploy upload (the CLI checks it before uploading)',
        responses: {
          '200': answer('The limits a client checks before sending.', 'Limits'),
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
        responses: {
          '200': {
            description: 'The OpenAPI document.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/v1/health': {
      get: {
        operationId: 'getHealth',
        tags: ['meta'],
        summary: 'Liveness check',
        security: [],
        responses: { '200': answer('The control API is up.', 'Health') },
      },
    },
  },
  components: { schemas, responses, securitySchemes },
};
