/**
 * tinyFaaS's gRPC service (`openfogstack.tinyfaas.tinyfaas.TinyFaaS/Request`), added to Skiff's gRPC
 * server in tinyFaaS mode: `Data { functionIdentifier, data }` → `Response { response }`, always
 * synchronous, UTF-8 strings. Metadata becomes headers (first value per key, `user-agent` included,
 * `:authority` as `authority`); errors are UNKNOWN with upstream's texts.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import {
  status as GrpcStatus,
  type handleUnaryCall,
  type Server,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import type { HeaderPairs } from '../../model/invocation.js';
import { toSkiffError } from '../../shared/errors.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';
import type { TriggerContext } from '../../triggers/types.js';

export const TINYFAAS_PROTO = path.join(PACKAGE_ROOT, 'proto', 'tinyfaas', 'tinyfaas.proto');
export const TINYFAAS_SERVICE = 'openfogstack.tinyfaas.tinyfaas.TinyFaaS';

interface Data {
  functionIdentifier: string;
  data: string;
}

function handler(ctx: TriggerContext): handleUnaryCall<Data, { response: string }> {
  return (call, callback) => {
    const name = call.request.functionIdentifier;
    const headers: HeaderPairs = [];
    const seen = new Set<string>();
    const add = (key: string, value: string): void => {
      if (seen.has(key)) return;
      seen.add(key);
      headers.push([key, value]);
    };
    for (const [key, values] of Object.entries(call.metadata.getMap())) {
      if (key.endsWith('-bin') || key.startsWith('grpc-') || key === 'content-type' || key === 'te') continue;
      add(key, String(values));
    }
    add('authority', call.getHost());
    void (async () => {
      try {
        ctx.check(name);
      } catch {
        callback({ code: GrpcStatus.UNKNOWN, details: `function ${name} not found` });
        return;
      }
      try {
        const result = await ctx.invoke({
          id: randomUUID(),
          function: name,
          trigger: 'grpc',
          method: 'POST',
          path: '/',
          query: '',
          headers,
          body: Buffer.from(call.request.data, 'utf8'),
          deadline: call.getDeadline() instanceof Date ? (call.getDeadline() as Date).getTime() : 0,
          host: 'grpc',
        });
        if (result.status >= 400) throw new Error(`status ${result.status}`);
        callback(null, { response: result.body.toString('utf8') });
      } catch (err) {
        ctx.logger.warn({ err: toSkiffError(err).message, fn: name }, 'tinyFaaS gRPC call failed');
        callback({ code: GrpcStatus.UNKNOWN, details: `error calling function ${name}` });
      }
    })();
  };
}

/** Loads the tinyFaaS proto and adds its service to the server; returns the definition for reflection. */
export function addTinyFaasService(server: Server, ctx: TriggerContext): PackageDefinition {
  const definition = loadSync(TINYFAAS_PROTO, { keepCase: true, longs: String, defaults: true });
  const service = definition[TINYFAAS_SERVICE] as ServiceDefinition | undefined;
  if (service === undefined) throw new Error(`${TINYFAAS_PROTO} does not define ${TINYFAAS_SERVICE}`);
  const implementation: UntypedServiceImplementation = { Request: handler(ctx) };
  server.addService(service, implementation);
  return definition;
}
