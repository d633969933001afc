/**
 * The runtime interfaces of Baetyl and OpenEdge (proto/baetyl/: `baetyl.Function/Call`,
 * `openedge.Function/Call`, 0.1.1's `runtime.Runtime/Handle`) as a gRPC package definition of
 * @grpc/proto-loader. The .proto files are parsed at build time (scripts/bundle-schemas.mjs) into
 * protobufjs's JSON descriptor, which the shim's bundle carries: no file to read inside the sandbox,
 * no parsing of .proto text at start.
 */
import path from 'node:path';
import { fromJSON, type PackageDefinition } from '@grpc/proto-loader';
import Long from 'long';
import protobuf from 'protobufjs';

export const PROTO_FILES = ['baetyl.proto', 'openedge.proto', 'runtime.proto'] as const;

/** Field names as written (ID, QOS, ...); 64-bit integers as decimal strings, exact. */
export const LOADER_OPTIONS = { keepCase: true, longs: String, defaults: true } as const;

/** The JSON descriptor of the protos in `dir` (protobufjs parses them). */
export function protoDescriptor(dir: string): protobuf.INamespace {
  const root = new protobuf.Root();
  root.loadSync(
    PROTO_FILES.map((file) => path.join(dir, file)),
    { keepCase: true },
  );
  return root.toJSON();
}

let longReady = false;
const definitions = new WeakMap<protobuf.INamespace, PackageDefinition>();

/**
 * protobufjs finds the `long` package with a hidden `require`, which a bundled ES module does not
 * have: without it 64-bit fields would go through doubles and lose precision. It is given here.
 */
function provideLong(): void {
  if (longReady) return;
  protobuf.util.Long = Long as unknown as typeof protobuf.util.Long;
  protobuf.configure();
  longReady = true;
}

/** The package definition from a descriptor of protoDescriptor's (made once per descriptor). */
export function runtimeProtos(descriptor: protobuf.INamespace): PackageDefinition {
  provideLong();
  let definition = definitions.get(descriptor);
  if (definition === undefined) {
    definition = fromJSON(descriptor, LOADER_OPTIONS);
    definitions.set(descriptor, definition);
  }
  return definition;
}
