/**
 * Components of the control API's OpenAPI document (see openapi.ts): response schemas, shared
 * parameters and error responses. Each schema mirrors what src/control/functions.ts sends.
 */
import { SCALING_FIELDS } from '../model/scaling.js';
import { ERROR_CODES, type ErrorCode } from '../shared/errors.js';
import { MAX_SECRET_NAME_LENGTH, MAX_SECRET_VALUE_BYTES, SECRET_NAME_PATTERN } from './secrets.js';
import { NAME_PATTERN, RUNTIME_NAMES } from '../model/spec.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` }) as const;
const dateTime = { type: 'string', format: 'date-time' } as const;

export const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: {
            type: 'string',
            enum: Object.keys(ERROR_CODES) as ErrorCode[],
            description: 'Stable error code; see docs/errors.md.',
          },
          message: { type: 'string', description: 'Human-readable explanation; not stable.' },
          details: {
            description: 'Extra data for some codes, e.g. `{ version, buildLog }` for a failed build.',
          },
        },
      },
    },
  },
  FunctionSpec: {
    type: 'object',
    description: 'The resolved spec (skiff.json plus deploy parameters) stored with a version.',
    required: ['name', 'runtime', 'handler', 'description', 'env', 'timeoutMs'],
    properties: {
      name: { type: 'string', pattern: NAME_PATTERN.source },
      runtime: { type: 'string', enum: [...RUNTIME_NAMES] },
      handler: {
        type: ['string', 'null'],
        description: 'Handler file as given; null when it was found by default.',
      },
      description: { type: 'string' },
      env: { type: 'object', additionalProperties: { type: 'string' } },
      timeoutMs: { type: ['integer', 'null'], minimum: 1 },
      command: { type: ['array', 'null'], items: { type: 'string' } },
      scaling: { ...ref('ScalingPatch'), description: 'Scaling from skiff.json and the deploy parameters.' },
      limits: {
        type: 'object',
        description:
          'Limits of each instance from skiff.json (memoryMb, cpus, pids, tmpMb, openFiles, fileSizeMb).',
        additionalProperties: { type: 'number' },
      },
      network: { type: 'string', enum: ['none', 'outbound'] },
    },
  },
  FunctionSummary: {
    type: 'object',
    required: ['name', 'runtime', 'liveVersion', 'hash', 'createdAt', 'updatedAt'],
    properties: {
      name: { type: 'string', pattern: NAME_PATTERN.source },
      runtime: { type: 'string', enum: [...RUNTIME_NAMES] },
      liveVersion: { type: ['integer', 'null'], minimum: 1, description: 'null until a version built.' },
      hash: { type: ['string', 'null'], description: 'SHA-256 (hex) of the live version’s code.' },
      createdAt: dateTime,
      updatedAt: dateTime,
    },
  },
  FunctionDetail: {
    allOf: [
      ref('FunctionSummary'),
      {
        type: 'object',
        required: ['handler', 'spec', 'versions', 'scaling', 'scalingOverride', 'instances', 'status'],
        properties: {
          handler: {
            type: ['string', 'null'],
            description: 'Handler from the spec, else the entry file found by the build.',
          },
          spec: { oneOf: [ref('FunctionSpec'), { type: 'null' }] },
          versions: { type: 'array', items: ref('Version'), description: 'Oldest first.' },
          scaling: ref('Scaling'),
          scalingOverride: {
            oneOf: [ref('ScalingPatch'), { type: 'null' }],
            description: 'What `skiff fn scale` set; it wins over skiff.json.',
          },
          instances: { type: 'array', items: ref('Instance') },
          status: ref('FunctionStatus'),
        },
      },
    ],
  },
  Version: {
    type: 'object',
    required: ['version', 'hash', 'status', 'live', 'createdAt', 'buildMs'],
    properties: {
      version: { type: 'integer', minimum: 1 },
      hash: { type: 'string', description: 'SHA-256 (hex) of the extracted code.' },
      status: { type: 'string', enum: ['ready', 'failed'] },
      live: { type: 'boolean' },
      createdAt: dateTime,
      buildLog: {
        type: 'string',
        maxLength: 70_000,
        description:
          'The build output, at most 64 KiB (its start and its end, with a marker between them). ' +
          'In a function detail only the live version carries it; every version has it at ' +
          '`GET /v1/functions/{name}/versions/{version}` and in a deploy response.',
      },
      buildMs: { type: 'integer', minimum: 0 },
    },
  },
  Instance: {
    type: 'object',
    required: [
      'id',
      'version',
      'state',
      'pid',
      'inFlight',
      'startedAt',
      'uptimeMs',
      'rssBytes',
      'served',
      'fromWarmPool',
    ],
    properties: {
      id: { type: 'string', format: 'uuid' },
      version: { type: 'integer', minimum: 1 },
      state: { type: 'string', enum: ['starting', 'warm', 'ready', 'stopping', 'exited'] },
      pid: { type: ['integer', 'null'] },
      inFlight: { type: 'integer', minimum: 0 },
      startedAt: { type: ['string', 'null'], format: 'date-time', description: 'When it became ready.' },
      uptimeMs: { type: ['integer', 'null'], minimum: 0 },
      rssBytes: { type: ['integer', 'null'], minimum: 0, description: 'Resident memory of the process.' },
      served: { type: 'integer', minimum: 0, description: 'Invocations handed to it.' },
      fromWarmPool: { type: 'boolean', description: 'Specialised from a pre-started generic process.' },
    },
  },
  FunctionStatus: {
    type: 'object',
    required: ['queued', 'inFlight', 'coldStarts', 'starts', 'failures', 'backoffUntil', 'recentErrors'],
    properties: {
      queued: { type: 'integer', minimum: 0, description: 'Invocations waiting for a free slot.' },
      inFlight: { type: 'integer', minimum: 0 },
      coldStarts: {
        type: 'integer',
        minimum: 0,
        description: 'Instances started while an invocation waited for one.',
      },
      starts: { type: 'integer', minimum: 0, description: 'Instances started in all.' },
      failures: {
        type: 'integer',
        minimum: 0,
        description: 'Crashes and failed starts in a row; from 2 on, starts back off.',
      },
      backoffUntil: {
        type: ['string', 'null'],
        format: 'date-time',
        description:
          'Set while a crash loop holds the next start back; calls then get 503 SKIFF_E_CRASH_LOOP.',
      },
      recentErrors: {
        type: 'array',
        description: 'The last 10 crashes, timeouts, failed starts and throttles, oldest first.',
        items: {
          type: 'object',
          required: ['at', 'code', 'message'],
          properties: { at: dateTime, code: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
  },
  Scaling: {
    type: 'object',
    required: [...SCALING_FIELDS],
    properties: {
      minInstances: {
        type: 'integer',
        minimum: 0,
        maximum: 100,
        description: 'Kept running; 0 scales to zero.',
      },
      maxInstances: { type: 'integer', minimum: 1, maximum: 100 },
      concurrency: {
        type: 'integer',
        minimum: 1,
        maximum: 10000,
        description: 'Invocations per instance at once.',
      },
      maxQueue: {
        type: 'integer',
        minimum: 0,
        maximum: 100000,
        description: 'Waiting invocations; one more gets 429.',
      },
      maxQueueWaitMs: { type: 'integer', minimum: 1, description: 'Longest wait for a slot, then 503.' },
      idleTimeoutMs: {
        type: 'integer',
        minimum: 100,
        description: 'Idle instances above the minimum stop after this.',
      },
    },
  },
  ScalingPatch: {
    type: 'object',
    additionalProperties: false,
    description: 'Any of the scaling fields; in a PATCH, null removes a field from the override.',
    properties: Object.fromEntries(SCALING_FIELDS.map((f) => [f, { type: ['integer', 'null'] }])),
  },
  ScalingResult: {
    type: 'object',
    required: ['scaling', 'override'],
    properties: {
      scaling: ref('Scaling'),
      override: { oneOf: [ref('ScalingPatch'), { type: 'null' }] },
    },
  },
  LogEntry: {
    type: 'object',
    required: ['ts', 'stream', 'level', 'message'],
    properties: {
      ts: dateTime,
      stream: { type: 'string', enum: ['stdout', 'stderr', 'log', 'build', 'platform'] },
      level: { type: 'string', description: 'debug, info, warn or error.' },
      message: { type: 'string', description: 'Cut at 16 KiB.' },
      invocationId: { type: 'string', description: 'Absent for instance-level and build lines.' },
      version: { type: 'integer', minimum: 1 },
    },
  },
  SecretList: {
    type: 'object',
    required: ['secrets'],
    properties: {
      secrets: {
        type: 'array',
        description: 'By name. Values are never returned.',
        items: {
          type: 'object',
          required: ['name', 'updatedAt'],
          properties: { name: { type: 'string', pattern: SECRET_NAME_PATTERN.source }, updatedAt: dateTime },
        },
      },
    },
  },
  SecretValue: {
    type: 'object',
    required: ['value'],
    additionalProperties: false,
    properties: {
      value: {
        type: 'string',
        maxLength: MAX_SECRET_VALUE_BYTES,
        description: 'The secret: a string of at most 64 KiB (UTF-8), without NUL characters.',
      },
    },
  },
  AsyncInvocation: {
    type: 'object',
    required: [
      'id',
      'function',
      'status',
      'attempts',
      'createdAt',
      'finishedAt',
      'result',
      'error',
      'history',
    ],
    properties: {
      id: { type: 'string', format: 'uuid' },
      function: { type: 'string' },
      trigger: { type: 'string', enum: ['async', 'cron', 'mqtt'], description: 'What queued it.' },
      status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'expired'] },
      attempts: { type: 'integer', minimum: 0, description: 'Times the function ran.' },
      createdAt: dateTime,
      finishedAt: { type: ['string', 'null'], format: 'date-time' },
      result: {
        type: ['object', 'null'],
        description: 'The function’s answer, once succeeded; `body` is base64.',
        properties: {
          status: { type: 'integer' },
          headers: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
          body: { type: 'string', contentEncoding: 'base64' },
        },
      },
      error: {
        type: ['object', 'null'],
        properties: { code: { type: 'string' }, message: { type: 'string' } },
      },
      history: {
        type: 'array',
        items: { type: 'object', properties: { at: dateTime, outcome: { type: 'string' } } },
      },
      callbackStatus: {
        type: ['integer', 'null'],
        description: 'HTTP status of the callback POST; 0 if it failed.',
      },
    },
  },
  DeployResult: {
    type: 'object',
    required: ['function', 'version'],
    properties: { function: ref('FunctionDetail'), version: ref('Version') },
  },
} as const;

const errorResponse = (description: string) =>
  ({ description, content: { 'application/json': { schema: ref('Error') } } }) as const;

export const responses = {
  ScalingBadRequest: errorResponse(
    'SKIFF_E_INVALID_NAME (bad `name`) or SKIFF_E_INVALID_SCALING: an unknown field, a value out of range, ' +
      'or minInstances above maxInstances.',
  ),
  BadRequest: errorResponse(
    'SKIFF_E_INVALID_NAME (bad `name`), SKIFF_E_INVALID_REQUEST (bad query parameter), and on deploys ' +
      'SKIFF_E_INVALID_SPEC, SKIFF_E_ARCHIVE_INVALID, SKIFF_E_ARCHIVE_UNSAFE.',
  ),
  Unauthorized: errorResponse('SKIFF_E_UNAUTHORIZED: missing or wrong bearer token.'),
  InvocationNotFound: errorResponse('SKIFF_E_INVOCATION_NOT_FOUND: no asynchronous invocation with that id.'),
  NotFound: errorResponse('SKIFF_E_FUNCTION_NOT_FOUND: no function of that name.'),
  SecretBadRequest: errorResponse(
    'SKIFF_E_INVALID_NAME (bad function `name`) or SKIFF_E_INVALID_REQUEST: a bad secret name, a body ' +
      'that is not `{ "value": "<string>" }`, a value over 64 KiB or with a NUL character, or a 101st secret.',
  ),
  SecretNotFound: errorResponse(
    'SKIFF_E_FUNCTION_NOT_FOUND (no function of that name) or SKIFF_E_SECRET_NOT_FOUND (no secret of that name).',
  ),
  PayloadTooLarge: errorResponse(
    'SKIFF_E_ARCHIVE_TOO_LARGE: the upload, its entry count or its unpacked size is over the limit.',
  ),
  UnsupportedMediaType: errorResponse(
    'SKIFF_E_UNSUPPORTED_MEDIA_TYPE: the body is not sent as an archive type.',
  ),
  Unprocessable: errorResponse(
    'SKIFF_E_HANDLER_NOT_FOUND or SKIFF_E_BUILD_FAILED (including an instance that would not start); ' +
      '`details` is `{ version, buildLog }`. The failed version is recorded; the live version is unchanged.',
  ),
  Internal: errorResponse('SKIFF_E_INTERNAL: a platform fault; see the platform log.'),
} as const;

export const parameters = {
  name: {
    name: 'name',
    in: 'path',
    required: true,
    description: 'Function name.',
    schema: { type: 'string', pattern: NAME_PATTERN.source },
  },
  secret: {
    name: 'secret',
    in: 'path',
    required: true,
    description: 'Secret name, like an environment variable name.',
    schema: { type: 'string', pattern: SECRET_NAME_PATTERN.source, maxLength: MAX_SECRET_NAME_LENGTH },
  },
} as const;

export const securitySchemes = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin token, written to `<data-dir>/admin-token` at first start.',
  },
} as const;
