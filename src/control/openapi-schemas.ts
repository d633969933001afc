/**
 * The generated parts of the control API's OpenAPI document (see openapi.ts): JSON Schema made by
 * zod's `z.toJSONSchema` from the schemas the routes validate with (request-schemas.ts) and the
 * schemas of their answers (response-schemas.ts). Nothing here lists a field by hand.
 *
 * Requests are converted as zod's input (`io: 'input'`: a field with a default is optional), answers
 * as its output (`io: 'output'`: defaults are filled in, unknown fields are not sent). The target is
 * draft 2020-12, the dialect of OpenAPI 3.1. Refinements (a byte count, a cron rule) cannot be
 * written in JSON Schema and are left out; anything else zod cannot represent throws here, at start.
 */
import * as status from './status-schema.js';
import { z } from 'zod';
import {
  rollbackBodySchema,
  scalingPatchSchema,
  secretBodySchema,
  trafficBodySchema,
} from './request-schemas.js';
import * as answers from './response-schemas.js';
import * as workflows from './workflow-schemas.js';
import * as tokens from './token-schemas.js';

/** A JSON Schema object as zod writes it. */
export type JsonSchema = z.core.JSONSchema.BaseSchema;

const componentRef = (id: string): string => `#/components/schemas/${id}`;

/** Drops what zod adds that only restates a format or JavaScript's safe-integer range. */
function tidy({ jsonSchema }: { jsonSchema: JsonSchema }): void {
  if (typeof jsonSchema.format === 'string') delete jsonSchema.pattern;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
}

function withoutHeader(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** Converts one schema without component references (a parameter, a field). */
export function toJson(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return withoutHeader(
    z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw', override: tidy }),
  );
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

/** The parameters of one zod object schema, each with the schema of its field. */
export function parameters(where: 'path' | 'query', schema: z.ZodObject): Parameter[] {
  const json = toJson(schema, 'input');
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, field]) => {
    const { description, ...rest } = field as JsonSchema;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

/** Converts named schemas at once; where one holds another, it refers to it (`$ref`). */
function components(named: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'throw',
    uri: componentRef,
    override: tidy,
  });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, withoutHeader(schema)]));
}

/** Request bodies (JSON). */
const requestBodies = {
  SecretValue: secretBodySchema,
  ScalingPatch: scalingPatchSchema,
  RollbackRequest: rollbackBodySchema,
  TrafficRequest: trafficBodySchema,
  WorkflowBody: workflows.workflowBodySchema,
  TokenRequest: tokens.tokenRequestSchema,
};

/** Whole answers of the routes, by the name the document gives them. */
const answerBodies = {
  ...answers.responseComponents,
  FunctionList: answers.functionListSchema,
  FunctionResponse: answers.functionResponseSchema,
  VersionResponse: answers.versionResponseSchema,
  LogList: answers.logsResponseSchema,
  PlatformLogList: answers.platformLogsResponseSchema,
  InvocationList: answers.invocationListSchema,
  InvocationResponse: answers.invocationResponseSchema,
  Executor: answers.executorSchema,
  Health: answers.healthSchema,
  Liveness: status.livenessSchema,
  Readiness: status.readinessSchema,
  Status: status.statusSchema,
  Endpoints: answers.endpointsSchema,
  RollbackResult: answers.rollbackResultSchema,
  TrafficResult: answers.trafficResultSchema,
  Limits: answers.limitsSchema,
  Workflow: workflows.workflowSchema,
  WorkflowSummary: workflows.workflowSummarySchema,
  WorkflowResponse: workflows.workflowResponseSchema,
  WorkflowList: workflows.workflowListSchema,
  Token: tokens.tokenSchema,
  TokenRevoke: tokens.tokenRevokeSchema,
  AccessInfo: tokens.accessInfoSchema,
};

export type SchemaName = keyof typeof requestBodies | keyof typeof answerBodies;

export const schemas: Record<SchemaName, JsonSchema> = {
  ...components(answerBodies, 'output'),
  ...components(requestBodies, 'input'),
} as Record<SchemaName, JsonSchema>;

export const schemaRef = (name: SchemaName) => ({ $ref: componentRef(name) }) as const;

const errorResponse = (description: string) =>
  ({ description, content: { 'application/json': { schema: schemaRef('Error') } } }) as const;

export const responses = {
  ScalingBadRequest: errorResponse(
    'SKIFF_E_INVALID_NAME (bad `name`) or SKIFF_E_INVALID_SCALING: an unknown field, a value out of range, ' +
      'or minInstances above maxInstances.',
  ),
  BadRequest: errorResponse(
    'SKIFF_E_INVALID_NAME (bad `name`), SKIFF_E_INVALID_REQUEST (bad query parameter), and on deploys ' +
      'SKIFF_E_INVALID_SPEC, SKIFF_E_INVALID_SCALING, SKIFF_E_ARCHIVE_INVALID, SKIFF_E_ARCHIVE_UNSAFE.',
  ),
  Unauthorized: errorResponse('SKIFF_E_UNAUTHORIZED: missing or wrong bearer token.'),
  TooManyLogStreams: errorResponse(
    'SKIFF_E_TOO_MANY_LOG_STREAMS: `control.maxLogStreams` log streams are open already.',
  ),
  InvocationNotFound: errorResponse('SKIFF_E_INVOCATION_NOT_FOUND: no asynchronous invocation with that id.'),
  NotFound: errorResponse('SKIFF_E_FUNCTION_NOT_FOUND: no function of that name.'),
  VersionNotFound: errorResponse(
    'SKIFF_E_FUNCTION_NOT_FOUND (no function of that name) or SKIFF_E_NOT_FOUND (no such version).',
  ),
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
  StateBadRequest: errorResponse(
    'SKIFF_E_INVALID_NAME (bad function `name`), SKIFF_E_INVALID_STATE_KEY (a key that is empty, over 512 ' +
      'bytes or holds control characters), or SKIFF_E_INVALID_REQUEST (a bad query parameter or condition ' +
      'header, or an application/json value that does not parse).',
  ),
  StateNotFound: errorResponse(
    'SKIFF_E_FUNCTION_NOT_FOUND (no function of that name) or SKIFF_E_STATE_NOT_FOUND (no such key).',
  ),
  StateConflict: errorResponse(
    'SKIFF_E_STATE_CONFLICT: the `If-Match` version is not the key’s, or `If-None-Match: *` found the key; ' +
      '`details.currentVersion` is the key’s version (0: it does not exist). Nothing was written.',
  ),
  StateTooLarge: errorResponse('SKIFF_E_STATE_TOO_LARGE: the value is over `state.maxValueBytes`.'),
  StateFull: errorResponse(
    'SKIFF_E_STATE_FULL: the function would go over `state.maxBytesPerFunction` or ' +
      '`state.maxKeysPerFunction` (delete keys first; `details` has the usage), or SKIFF_E_DISK_FULL.',
  ),
  WorkflowBadRequest: errorResponse(
    'SKIFF_E_INVALID_NAME (bad workflow `name`) or SKIFF_E_INVALID_WORKFLOW: a field that is wrong or over ' +
      'a cap, a `name` that is not the path’s, or a function that is not deployed; `details.issues` lists ' +
      'each as `{ path, message }` (`functions.resize.done[0]`).',
  ),
  WorkflowNotFound: errorResponse('SKIFF_E_WORKFLOW_NOT_FOUND: no workflow of that name.'),
  WorkflowConflict: errorResponse(
    'SKIFF_E_WORKFLOW_CONFLICT: a member is already in another workflow (`details.members`: function → ' +
      'workflow), or the platform holds the most workflows it keeps. Nothing was written.',
  ),
  WorkflowTooLarge: errorResponse('SKIFF_E_PAYLOAD_TOO_LARGE: the spec is over 64 KiB.'),
  TokenBadRequest: errorResponse(
    'SKIFF_E_INVALID_NAME (bad function `name`) or SKIFF_E_INVALID_REQUEST: a body that is not JSON, an ' +
      'unknown field, a scope other than `function` or `namespace`, or expiresInSec out of range.',
  ),
  Internal: errorResponse('SKIFF_E_INTERNAL: a platform fault; see the platform log.'),
} as const;

export const securitySchemes = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin token, written to `<data-dir>/admin-token` at first start.',
  },
} as const;
