/**
 * What the gRPC tests share: clients of skiff.v1.Invoker (from the .proto in the repository) and of
 * server reflection, one unary call with everything a client sees of it, and small readers.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  loadPackageDefinition,
  Metadata,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { expect } from 'vitest';
import type { TestPlatform } from '../helpers/platform.js';

const LOADER = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };
/** The .proto shipped in the repository, as a client would load it. */
const INVOKER_PROTO = path.resolve(import.meta.dirname, '..', '..', 'proto', 'skiff', 'v1', 'invoker.proto');
/** The reflection service's own .proto, shipped inside @grpc/reflection. */
const REFLECTION_PROTO = path.resolve(
  path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection')),
  '..',
  'proto',
  'grpc',
  'reflection',
  'v1',
  'reflection.proto',
);

function serviceConstructor(protoFile: string, ...names: string[]): ServiceClientConstructor {
  let node: unknown = loadPackageDefinition(loadSync(protoFile, LOADER));
  for (const name of names) node = (node as GrpcObject)[name];
  return node as ServiceClientConstructor;
}

export const InvokerClient = serviceConstructor(INVOKER_PROTO, 'skiff', 'v1', 'Invoker');
export const ReflectionClient = serviceConstructor(
  REFLECTION_PROTO,
  'grpc',
  'reflection',
  'v1',
  'ServerReflection',
);

export interface InvokeRequest {
  function?: string;
  payload?: Buffer;
  metadata?: Record<string, string>;
  method?: string;
  path?: string;
}
export interface InvokeResponse {
  status: number;
  payload: Buffer;
  metadata: Record<string, string>;
}
/** Everything a client sees of one call. */
export interface Outcome {
  response: InvokeResponse | undefined;
  error: ServiceError | undefined;
  headers: Metadata;
  trailers: Metadata;
  ms: number;
}

type UnaryMethod = (
  req: InvokeRequest,
  md: Metadata,
  options: { deadline?: number },
  cb: (err: ServiceError | null, res?: InvokeResponse) => void,
) => { on(event: string, listener: (value: never) => void): void };

export function invoke(
  client: Client,
  req: InvokeRequest,
  options: { metadata?: Metadata; timeoutMs?: number } = {},
): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let headers = new Metadata();
    let trailers: Metadata | undefined;
    let result: { response: InvokeResponse | undefined; error: ServiceError | undefined } | undefined;
    const done = () => {
      if (result !== undefined && trailers !== undefined) {
        resolve({ ...result, headers, trailers, ms: Date.now() - started });
      }
    };
    const method = (client as unknown as { Invoke: UnaryMethod }).Invoke.bind(client);
    const call = method(
      req,
      options.metadata ?? new Metadata(),
      { deadline: Date.now() + (options.timeoutMs ?? 30_000) },
      (err, res) => {
        result = { response: res, error: err ?? undefined };
        done();
      },
    );
    call.on('metadata', (md: Metadata) => {
      headers = md;
    });
    call.on('status', (s: StatusObject) => {
      trailers = s.metadata;
      done();
    });
  });
}

/** The call must have succeeded; its response. */
export function ok(outcome: Outcome): InvokeResponse {
  expect(outcome.error?.message).toBeUndefined();
  return outcome.response as InvokeResponse;
}

export function json(res: InvokeResponse): Record<string, unknown> {
  return JSON.parse(res.payload.toString('utf8')) as Record<string, unknown>;
}

/** The host:port of the platform's gRPC listener. */
export function target(p: TestPlatform): string {
  const url = p.server.endpoints['grpc'];
  if (url === undefined) throw new Error('the platform has no grpc endpoint');
  return new URL(url).host;
}

/** Log lines of a function that mention a text. */
export async function linesWith(p: TestPlatform, name: string, text: string): Promise<number> {
  return (await p.logs(name)).filter((l) => l.message.includes(text)).length;
}
