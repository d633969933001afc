/**
 * Enables the dialects whose `compat.<name>.enabled` is set and gathers what they add, checking that
 * their gateway rules do not collide: one dialect at most takes the whole function port, prefixes and
 * own ports are distinct. server.ts wires the result into the listeners.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RawHandler } from '../control/app.js';
import type { WorkflowFormat } from '../control/workflow-formats.js';
import { SkiffError } from '../shared/errors.js';
import { PREFIX_PATTERN, type GatewayRules, type PrefixedRules } from '../triggers/gateway-rules.js';
import type { PlannedPort } from '../shared/ports.js';
import type { GrpcService, TriggerAdapter } from '../triggers/types.js';
import { sectionOf, type DialectContext, type Dialects } from './dialect.js';

/** A gateway of a dialect on a listener of its own. */
export interface OwnGateway {
  name: string;
  host: string;
  port: number;
  rules: GatewayRules;
}

export interface EnabledDialects {
  /** Names of the enabled dialects. */
  names: string[];
  /** Handlers for the control listener, consulted before Skiff's routes. */
  management: RawHandler[];
  /** The rules of the whole function port, when a dialect takes it (else Skiff's). */
  functionPort: GatewayRules | undefined;
  /** Rules under prefixes of the function port. */
  prefixed: PrefixedRules[];
  /** Gateways on listeners of their own. */
  ownGateways: OwnGateway[];
  grpcServices: GrpcService[];
  /** Listeners of their own: name → start. */
  listeners: [string, TriggerAdapter['start']][];
  /** The ports of its own listeners and gateways, for the check before anything listens. */
  ports: PlannedPort[];
  notes: string[];
  workflowFormats: WorkflowFormat[];
}

const refuse = (message: string): never => {
  throw new SkiffError('SKIFF_E_CONFIG_INVALID', message);
};

/** The handler with `prefix` taken off the URL, for URLs at or under it (else it declines). */
export function underPrefix(prefix: string, handler: RawHandler): RawHandler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (!url.startsWith(prefix)) return false;
    const rest = url.slice(prefix.length);
    if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) return false;
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    try {
      const answered = await handler(req, res);
      if (!answered) req.url = url;
      return answered;
    } catch (err) {
      req.url = url;
      throw err;
    }
  };
}

/** Enables every dialect of `dialects` that the configuration turns on, in the record's order. */
export async function enableDialects(dialects: Dialects, ctx: DialectContext): Promise<EnabledDialects> {
  const out: EnabledDialects = {
    names: [],
    management: [],
    functionPort: undefined,
    prefixed: [],
    ownGateways: [],
    grpcServices: [],
    listeners: [],
    ports: [],
    notes: [],
    workflowFormats: [],
  };
  let portOwner: string | undefined;
  const prefixes = new Map<string, string>();
  for (const [name, dialect] of Object.entries(dialects)) {
    const section = sectionOf(dialect, ctx.config);
    if (!section.enabled) continue;
    out.names.push(name);
    const parts = await dialect.enable({ ...ctx, logger: ctx.logger.child({ part: name }) }, section);
    const gateway = parts.gateway;
    if (gateway?.mount.on === 'function-port') {
      if (portOwner !== undefined) {
        refuse(
          `compat.${portOwner} and compat.${name} both take the whole HTTP gateway port: enable one of them`,
        );
      }
      portOwner = name;
      out.functionPort = gateway.rules;
    } else if (gateway?.mount.on === 'prefix') {
      const { prefix } = gateway.mount;
      if (!PREFIX_PATTERN.test(prefix)) refuse(`compat.${name}: gateway prefix ${prefix} is not /a or /a/b`);
      const other = prefixes.get(prefix);
      if (other !== undefined)
        refuse(`compat.${other} and compat.${name} both use the gateway prefix ${prefix}`);
      prefixes.set(prefix, name);
      out.prefixed.push({ prefix, rules: gateway.rules });
    } else if (gateway?.mount.on === 'own-port') {
      const { name: endpoint, host, port } = gateway.mount;
      out.ownGateways.push({ name: endpoint, host, port, rules: gateway.rules });
      out.ports.push({ listener: `${name} gateway`, protocol: 'tcp', host, port, setting: `compat.${name}` });
    }
    if (parts.management !== undefined) {
      const { handler, prefix } = parts.management;
      out.management.push(prefix === undefined ? handler : underPrefix(prefix, handler));
    }
    out.grpcServices.push(...(parts.grpcServices ?? []));
    for (const [listener, start] of Object.entries(parts.listeners ?? {})) {
      out.listeners.push([`${name}-${listener}`, start]);
    }
    out.ports.push(...(parts.ports ?? []));
    out.notes.push(...(parts.notes ?? []));
    out.workflowFormats.push(...(parts.workflowFormats ?? []));
  }
  // the longest prefix first, so that /a/b is found before /a
  out.prefixed.sort((a, b) => b.prefix.length - a.prefix.length);
  return out;
}
