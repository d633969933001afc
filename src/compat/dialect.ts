/**
 * A dialect: how one foreign platform's clients talk to Skiff, as one record its folder exports
 * (src/compat/<platform>/index.ts) and src/compat/index.ts lists by name. server.ts (the composition
 * root) enables a dialect when `compat.<name>.enabled`; the core never names one. The interfaces the
 * core consumes live in the core: gateway rules (triggers/gateway-rules.ts), gRPC services and listeners
 * (triggers/types.ts), management handlers (control/app.ts RawHandler), flavors (model/flavor.ts) and
 * configuration sections (shared/config-section.ts). docs/architecture.md ("Dialects and flavors") walks through one.
 */
import type { z } from 'zod';
import type { RawHandler } from '../control/app.js';
import type { Deployer } from '../control/deploy/deployer.js';
import type { ForeignBuilds } from '../control/deploy/foreign-builds.js';
import type { Flavor } from '../model/flavor.js';
import type { WorkflowFormat } from '../control/workflow-formats.js';
import type { CallHost, CastHost } from '../executor/calls.js';
import type { ExternalTargets } from '../invoke/external-targets.js';
import type { FunctionState } from '../model/state.js';
import type { WorkflowSpec } from '../model/workflow.js';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import type { FileLogStore } from '../store/file-logs.js';
import type { Registry } from '../store/registry.js';
import type { GatewayRules } from '../triggers/gateway-rules.js';
import type { GrpcService, TriggerAdapter } from '../triggers/types.js';
import type { PlannedPort } from '../shared/ports.js';

/** Every dialect's section has `enabled` (default false); the rest is its own. */
export interface DialectSection {
  enabled: boolean;
}

/** A boolean flag on `skiff serve` that sets a field of the dialect's section to true. */
export interface DialectFlag {
  /** As commander takes it: `--tinyfaas`. */
  flag: string;
  description: string;
  /** The field of `compat.<name>` it sets to true. */
  sets: string;
}

/**
 * Where a dialect's gateway rules apply: the whole function port (`http.port`; one dialect at most,
 * instead of Skiff's rules), a path prefix of the function port (beside Skiff's rules), or a listener
 * of its own (its own host and port, named in endpoints.json).
 */
export type GatewayMount =
  | { on: 'function-port' }
  | { on: 'prefix'; prefix: string }
  | { on: 'own-port'; name: string; host: string; port: number };

/** What the platform gives an enabled dialect. */
export interface DialectContext {
  /** The whole configuration (the dialect's own section is passed to `enable` parsed). */
  config: Config;
  registry: Registry;
  deployer: Deployer;
  /** The build sandbox, for a platform's own build commands. */
  builds: ForeignBuilds;
  /** The folder of a function's live code (read it, never write), or undefined when it has none. */
  codeDir(name: string): string | undefined;
  logs: FileLogStore;
  /** The admin token (a dialect's management API may accept it). */
  token: string;
  /** A child logger named for the dialect. */
  logger: Logger;
  /** The platform's endpoints (name → URL), known once the listeners are up. */
  endpoints(): Record<string, string>;
  /**
   * Names the dialect serves itself (src/invoke/external-targets.ts): register them here, under the
   * dialect's name as owner, before any invocation can reach them (in `enable`).
   */
  externals: ExternalTargets;
  /** Casts to exactly the names given (no workflow alias is resolved), durable in the async queue. */
  casts: CastHost;
  /** Calls to functions and external targets, with the rails of `ctx.call`. */
  calls: CallHost;
  /** Functions' state (what `ctx.state` and `/v1/functions/{name}/state` use). */
  state: FunctionState;
  /** The workflow of this name as the platform stores it, if any (a format checks what it kept). */
  storedWorkflow(name: string): WorkflowSpec | undefined;
}

/** What an enabled dialect adds to the platform; every part is optional. */
export interface DialectParts {
  /** Its invocation rules on the HTTP gateway, and where they apply. */
  gateway?: { rules: GatewayRules; mount: GatewayMount };
  /** Its management API, consulted on the control listener before Skiff's routes (under `prefix`). */
  management?: { handler: RawHandler; prefix?: string };
  /** Further services on the gRPC trigger's server. */
  grpcServices?: readonly GrpcService[];
  /** Listeners of its own (name → start, as a trigger adapter starts), e.g. an API on its own port. */
  listeners?: Readonly<Record<string, TriggerAdapter['start']>>;
  /** The ports those listeners will bind, checked with the core's before anything listens (shared/ports.ts). */
  ports?: readonly PlannedPort[];
  /** Lines for people in `skiff serve`'s start-up output (warnings first with ⚠). */
  notes?: readonly string[];
  /** Workflow files in its platform's format that `PUT /v1/workflows/{name}` takes besides Skiff's. */
  workflowFormats?: readonly WorkflowFormat[];
}

export interface Dialect<S extends DialectSection = DialectSection> {
  /** Its key in the record and its configuration section, `compat.<name>`. */
  name: string;
  /** The section's schema (undefined gives the defaults, off) and its environment variables, if any. */
  config: {
    schema: z.ZodType<S>;
    /** Reads the dialect's environment after the configuration is parsed (it may change it in place). */
    fromEnv?(config: Config, section: S, env: NodeJS.ProcessEnv): void;
  };
  /**
   * The function flavors of the platform: known whether or not the dialect is enabled, since a
   * function's flavor is how its bridge calls its code, reachable by every trigger.
   */
  flavors: readonly Flavor[];
  /**
   * The HTTP rules of its flavors (flavor name → gateway rules), applied on every gateway to the
   * functions of that flavor once routed, whether or not the dialect is enabled (like `flavors`).
   */
  flavorRules?(config: Config): Readonly<Record<string, GatewayRules>>;
  /** Flags it adds to `skiff serve`. */
  flags?: readonly DialectFlag[];
  /**
   * Its client-facing parts, when `compat.<name>.enabled`; called once at start, before listening
   * (heavy modules are best imported here, so that the CLI reading `flags` stays light).
   */
  enable(ctx: DialectContext, section: S): DialectParts | Promise<DialectParts>;
}

/** The record of compiled-in dialects, name → dialect. */
export type Dialects = Readonly<Record<string, Dialect>>;

/** The dialect's section of a parsed configuration (its defaults when the section is absent). */
export function sectionOf<S extends DialectSection>(dialect: Dialect<S>, config: Config): S {
  return dialect.config.schema.parse(config.compat[dialect.name]);
}
