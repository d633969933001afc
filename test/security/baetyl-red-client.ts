/** A plain gRPC client of the Baetyl services (proto/baetyl/) for the red-team tests of the dialect. */
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { BAETYL_LOADER_OPTIONS, BAETYL_PROTOS } from '../../src/compat/baetyl/grpc.js';
import type { TestPlatform } from '../helpers/platform.js';

export type Service = 'runtime' | 'openedge' | 'baetyl' | 'faas';
export interface Answer {
  err: ServiceError | null;
  payload?: Buffer;
}

type Callback = (err: ServiceError | null, res?: { Payload: Buffer }) => void;
interface Stub {
  close(): void;
  [rpc: string]: unknown;
}

/** Clients of the four services on a platform's gRPC endpoint; `close()` ends them all. */
export function baetylClients(p: TestPlatform) {
  const definition = loadPackageDefinition(
    loadSync(BAETYL_PROTOS, BAETYL_LOADER_OPTIONS),
  ) as unknown as Record<
    string,
    Record<string, new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Stub>
  >;
  const address = new URL(p.server.endpoints['grpc'] as string).host;
  const make = (pkg: string, service: string): Stub => {
    const Ctor = definition[pkg]?.[service];
    if (Ctor === undefined) throw new Error(`no ${pkg}.${service}`);
    return new Ctor(address, credentials.createInsecure());
  };
  const stubs: Record<Service, Stub> = {
    runtime: make('runtime', 'Runtime'),
    openedge: make('openedge', 'Function'),
    baetyl: make('baetyl', 'Function'),
    faas: make('faas', 'Function'),
  };
  return {
    call(service: Service, request: object, metadata = new Metadata(), deadlineMs = 30_000): Promise<Answer> {
      const stub = stubs[service];
      const rpc = (service === 'runtime' ? stub['Handle'] : stub['Call']) as (
        req: object,
        md: Metadata,
        opts: object,
        cb: Callback,
      ) => void;
      return new Promise((resolve) => {
        rpc.call(stub, request, metadata, { deadline: Date.now() + deadlineMs }, (err, res) =>
          resolve(res === undefined ? { err } : { err, payload: res.Payload }),
        );
      });
    },
    close(): void {
      for (const stub of Object.values(stubs)) stub.close();
    },
  };
}
