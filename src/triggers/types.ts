/**
 * What every protocol adapter beyond the HTTP gateway gets and gives (docs/architecture.md: one adapter
 * per protocol, a typed record name → adapter). An adapter turns its protocol's requests into neutral
 * Invocations and maps Results back; it knows nothing about processes.
 */
import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import type { Flavors } from '../model/flavor.js';
import type { FunctionSpec } from '../model/spec.js';
import type { AsyncQueue } from '../invoke/async-queue.js';
import type { Invocation, Result } from '../model/invocation.js';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';

export interface LiveFunction {
  name: string;
  version: number;
  spec: FunctionSpec;
}

/**
 * A further gRPC service on the gRPC trigger's server (a compatibility API's): adds itself and returns
 * its definition, for server reflection.
 */
export type GrpcService = (server: GrpcServer, ctx: TriggerContext) => PackageDefinition;

export interface TriggerContext {
  config: Config;
  /** Runs an invocation synchronously (router → executor); rejects with a SkiffError. */
  invoke(inv: Invocation): Promise<Result>;
  /** Throws SKIFF_E_FUNCTION_NOT_FOUND unless the function exists and has a live version. */
  check(name: string): void;
  /** The durable queue, for triggers that must not lose what they accepted (MQTT QoS 1, cron). */
  queue: AsyncQueue;
  /** Every function with a live version and its spec (for rules in skiff.json `triggers`). */
  liveFunctions(): LiveFunction[];
  /** Called after a deploy, a delete or a restart of the platform with the functions' new state. */
  onFunctionsChanged(listener: () => void): void;
  /** Further gRPC services for the gRPC trigger (from the enabled compatibility APIs). */
  grpcServices?: readonly GrpcService[];
  /** The flavors the platform knows (a flavor may bring its own MQTT failure record). */
  flavors?: Flavors;
  logger: Logger;
}

export interface RunningTrigger {
  /** Endpoint name and URL for `endpoints.json` and the start-up output, if it listens. */
  endpoint?: { name: string; url: string };
  /** Lines for people in the start-up output (never a secret). */
  notes?: string[];
  stop(): Promise<void>;
}

export interface TriggerAdapter {
  enabled(config: Config): boolean;
  start(ctx: TriggerContext): Promise<RunningTrigger>;
}
