/**
 * The parameters of the executor API's routes (upstream's names, limits and defaults), coerced from
 * what JSON, multipart and form clients send: numbers and booleans may come as strings, `variables`
 * values as numbers or booleans (they become strings), `body` as text or bytes.
 */
import { z } from 'zod';
import { oprError } from './errors.js';
import type { Params } from './params.js';

const text = (max: number) => z.string().max(max);
const int = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^-?\d+$/)
      .transform(Number),
  ])
  .pipe(z.number().int());
const num = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^-?\d+(\.\d+)?$/)
      .transform(Number),
  ])
  .pipe(z.number());
const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0', '']).transform((v) => v === 'true' || v === '1'),
  z.literal(1).transform(() => true),
  z.literal(0).transform(() => false),
]);
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const stringMap = z.record(z.string(), scalar);

export const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'] as const;

/** What a runtime is made from: create's parameters, also accepted by an execution for a cold start. */
const runtimeShape = {
  image: text(128),
  entrypoint: text(256).default(''),
  source: text(1024).default(''),
  outputDirectory: text(1024).default(''),
  variables: stringMap.default({}),
  runtimeEntrypoint: text(1024).default(''),
  // the function's limits.cpus and limits.memoryMb (their floors; the ceilings are sandbox.maxLimits)
  cpus: num.pipe(z.number().min(0.05, 'at least 0.05').max(64)).default(1),
  memory: int.pipe(z.number().min(32, 'at least 32 (MB)').max(65_536)).default(512),
  version: z.string().max(8).default('v5'),
  restartPolicy: z.enum(RESTART_POLICIES).default('no'),
};

export const createSchema = z.object({
  runtimeId: text(64).min(1),
  ...runtimeShape,
  destination: text(1024).default(''),
  command: text(1024).default(''),
  cacheKey: z.string().max(1024).default(''),
  timeout: int.pipe(z.number().min(1).max(86_400)).default(600),
  remove: bool.default(false),
});

export type CreateParams = z.infer<typeof createSchema>;

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;

export const executeSchema = z.object({
  body: z.union([z.string(), z.instanceof(Buffer)]).default(''),
  path: text(2048).default('/'),
  method: z.enum(METHODS).default('GET'),
  headers: stringMap.default({}),
  timeout: int.pipe(z.number().min(1).max(86_400)).default(15),
  logging: bool.default(true),
  ...runtimeShape,
  image: text(128).default(''),
});

export type ExecuteParams = z.infer<typeof executeSchema>;

export const commandSchema = z.object({
  command: text(1024).min(1),
  timeout: int.pipe(z.number().min(1).max(86_400)).default(600),
});

export const logsSchema = z.object({
  timeout: int.pipe(z.number().min(1).max(3600)).default(600),
});

/** Parses `params` with `schema`, refusing in upstream's words (`Invalid \`name\` param: …`). */
export function parseParams<T extends z.ZodType>(schema: T, params: Params): z.infer<T> {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? 'body');
  const missing = issue?.code === 'invalid_type' && params[name] === undefined;
  throw oprError(
    'execution_bad_request',
    missing
      ? `Param "${name}" is not optional.`
      : `Invalid \`${name}\` param: ${issue?.message ?? 'invalid'}`,
  );
}
