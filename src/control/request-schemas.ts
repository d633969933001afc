/**
 * What the control API's routes take, as zod schemas: path parameters, query parameters and JSON
 * bodies. The route handlers validate with these very objects and openapi.ts generates the document's
 * parameters and request bodies from them (z.toJSONSchema), so every field and bound is written once.
 * Messages a user sees are part of the schemas (`error`), so a handler only picks the code.
 */
import { z } from 'zod';
import { scalingInputSchema, scalingPatchSchema } from '../model/scaling.js';
import {
  DEFAULT_STATE_LIST_LIMIT,
  MAX_STATE_KEY_BYTES,
  MAX_STATE_LIST_LIMIT,
  stateKeyProblem,
} from '../model/state.js';
import { functionNameSchema, specSchema } from '../model/spec.js';
import { SkiffError, type ErrorCode } from '../shared/errors.js';
import type { AsyncStatus } from '../store/queue-store.js';

export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_SECRET_NAME_LENGTH = 255;
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
export const MAX_SECRETS_PER_FUNCTION = 100;

/** Media types a deploy accepts (a missing Content-Type counts as application/octet-stream). */
export const ARCHIVE_TYPES = [
  'application/zip',
  'application/gzip',
  'application/x-zip-compressed',
  'application/x-gzip',
  'application/x-tar+gzip',
  'application/octet-stream',
] as const;

export const ASYNC_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'expired',
] as const satisfies readonly AsyncStatus[];

const secretNameMessage = (issue: { input?: unknown }): string =>
  `invalid secret name ${JSON.stringify(issue.input)}: use letters, digits and _ (not starting with a digit), ` +
  `at most ${MAX_SECRET_NAME_LENGTH} characters, like an environment variable (API_KEY)`;

export const secretNameSchema = z
  .string()
  .regex(SECRET_NAME_PATTERN, { error: secretNameMessage })
  .max(MAX_SECRET_NAME_LENGTH, { error: secretNameMessage })
  .meta({ description: 'Secret name, like an environment variable name.' });

// Path parameters, one object per route shape.
export const functionParams = z.object({ name: functionNameSchema });
export const versionParams = z.object({
  name: functionNameSchema,
  version: z.coerce.number().int().min(1).meta({ description: 'Version number, from 1.' }),
});
export const secretParams = z.object({ name: functionNameSchema, secret: secretNameSchema });
export const stateKeySchema = z
  .string()
  .superRefine((key, ctx) => {
    const problem = stateKeyProblem(key);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({
    description: `State key, URL-encoded: 1 to ${MAX_STATE_KEY_BYTES} bytes of UTF-8, no control characters.`,
  });
export const stateParams = z.object({ name: functionNameSchema, key: stateKeySchema });
export const invocationParams = z.object({
  id: z.string().meta({ description: 'The id the 202 of the asynchronous call carried.' }),
});

// Query parameters.
const LIMIT_MESSAGE = 'limit must be a whole number from 1 to 10000';
const limitSchema = z.coerce
  .number({ error: LIMIT_MESSAGE })
  .int({ error: LIMIT_MESSAGE })
  .min(1, { error: LIMIT_MESSAGE })
  .max(10_000, { error: LIMIT_MESSAGE })
  .default(100)
  .meta({ description: 'How many of the newest entries to return.' });

/** The filters and the follow switch of both log routes (logs-follow.md). */
const logFollowQuery = z.object({
  since: z
    .string()
    .max(64, { error: 'since is a duration (30s, 10m, 2h, 1d) or an ISO time' })
    .optional()
    .meta({
      description:
        'Only lines written at or after this time: a duration back from now (`30s`, `10m`, `2h`, `1d`) or an ISO 8601 time (`2026-12-07T06:00:00Z`).',
    }),
  invocationId: z
    .string()
    .max(128, { error: 'invocationId is an invocation id (at most 128 characters)' })
    .optional()
    .meta({ description: 'Only the lines of this invocation.' }),
  follow: z.enum(['true', 'false', '1', '0'], { error: 'follow must be true or false' }).optional().meta({
    description:
      'true: answer with a Server-Sent Events stream (text/event-stream): the recent lines (`limit`, `since`), then every line as it is written, each event with an `id` to resume from (`Last-Event-ID`).',
  }),
  lastEventId: z
    .string()
    .max(128, { error: 'lastEventId is the id of an event of this stream' })
    .optional()
    .meta({
      description:
        'With follow: resume after this event id, as the `Last-Event-ID` header does (the header wins when both are sent).',
    }),
});

export const platformLogsQuery = z.object({ limit: limitSchema }).extend(logFollowQuery.shape);

export const logsQuery = z.object({
  ...logFollowQuery.shape,
  limit: limitSchema,
  rootId: z
    .string()
    .max(128, { error: 'rootId is an invocation id (at most 128 characters)' })
    .optional()
    .meta({
      description:
        'Only the lines of one chain: of the invocation with this id and of every call and cast below it (among the last 10 000 lines and 4 MiB of the log).',
    }),
});

export const invocationsQuery = z.object({
  function: z.string().optional().meta({ description: 'Only this function’s.' }),
  status: z.enum(ASYNC_STATUSES, { error: `status must be one of ${ASYNC_STATUSES.join(', ')}` }).optional(),
  rootId: z
    .string()
    .max(128, { error: 'rootId is an invocation id (at most 128 characters)' })
    .optional()
    .meta({
      description: 'Only the chain started by this invocation: the root (if queued) and every cast below it.',
    }),
  limit: limitSchema,
});

const STATE_LIMIT_MESSAGE = `limit must be a whole number from 1 to ${MAX_STATE_LIST_LIMIT}`;
export const stateListQuery = z.object({
  prefix: z.string().optional().meta({ description: 'Only keys starting with this.' }),
  limit: z.coerce
    .number({ error: STATE_LIMIT_MESSAGE })
    .int({ error: STATE_LIMIT_MESSAGE })
    .min(1, { error: STATE_LIMIT_MESSAGE })
    .max(MAX_STATE_LIST_LIMIT, { error: STATE_LIMIT_MESSAGE })
    .default(DEFAULT_STATE_LIST_LIMIT)
    .meta({ description: 'Keys per page.' }),
  after: z
    .string()
    .optional()
    .meta({ description: 'Only keys after this one: the `next` of the previous page.' }),
});

/** Deploy parameters that override skiff.json; refused as SKIFF_E_INVALID_SPEC, like skiff.json itself. */
export const deployQuery = z.object({
  runtime: specSchema.shape.runtime.meta({ description: 'Overrides `runtime` in skiff.json.' }),
  handler: specSchema.shape.handler.meta({
    description: 'Overrides `handler` in skiff.json: the entry file, relative to the folder.',
  }),
});

/** Scaling deploy parameters (`?minInstances=1&concurrency=10`): numbers in the query, skiff.json's bounds. */
export const deployScalingQuery = scalingInputSchema;

// JSON bodies.
export const SECRET_BODY_HINT =
  'send the secret as a JSON body { "value": "<the secret>" } with a string value';
const TOO_LONG = `the secret value is longer than ${MAX_SECRET_VALUE_BYTES} bytes (64 KiB)`;

/** POST /v1/functions/{name}/rollback: the version to make live (default: the newest ready one before). */
export const rollbackBodySchema = z.strictObject({
  version: z
    .number({ error: 'version must be a version number, e.g. { "version": 3 }' })
    .int()
    .min(1)
    .max(2_147_483_647)
    .optional(),
});

/** PUT /v1/functions/{name}/traffic: the versions' shares of the calls, or null to clear the split. */
export const trafficBodySchema = z.strictObject({
  split: z
    .array(
      z.strictObject({
        version: z
          .number({ error: 'version must be a version number, e.g. { "version": 3, "percent": 90 }' })
          .int()
          .min(1)
          .max(2_147_483_647),
        // whole, 1 to 100, summing to 100: judged with the split (SKIFF_E_INVALID_TRAFFIC)
        percent: z.number({ error: 'percent must be a whole percent, e.g. { "version": 3, "percent": 90 }' }),
      }),
    )
    .max(16)
    .nullable()
    .meta({
      description:
        'Two to four ready versions and their whole percents (summing to 100); one version at 100, or null, gives every call to one version.',
    }),
});

export const secretBodySchema = z.strictObject(
  {
    value: z
      .string({ error: 'the body needs a string field "value": { "value": "<the secret>" }' })
      .max(MAX_SECRET_VALUE_BYTES, TOO_LONG)
      .refine((value) => Buffer.byteLength(value) <= MAX_SECRET_VALUE_BYTES, TOO_LONG)
      .refine(
        (value) => !value.includes('\0'),
        'the secret value contains a NUL character (\\u0000), which an environment variable cannot hold',
      )
      .meta({ description: 'The secret: a string of at most 64 KiB (UTF-8), without NUL characters.' }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${JSON.stringify(issue.keys[0])} in the body; send only { "value": "..." }`
        : issue.code === 'invalid_type'
          ? SECRET_BODY_HINT
          : undefined,
  },
);

export { scalingPatchSchema };

/** The first value of each query parameter, as the routes read them. */
export function queryObject(query: URLSearchParams): Record<string, string> {
  return Object.fromEntries([...query.keys()].map((key) => [key, query.get(key) ?? '']));
}

/**
 * Parses with a schema of this file; a failure is `code` with the schema's own message (a problem of
 * the whole value, such as an unknown field, before one of a field).
 */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  code: ErrorCode = 'SKIFF_E_INVALID_REQUEST',
): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const issue = issues.find((i) => i.path.length === 0) ?? issues[0];
  throw new SkiffError(code, issue?.message ?? 'the request is invalid');
}
