/**
 * `skiff fn get`'s resolved settings: the live version's deployment (every default applied) as shown,
 * with the secrets' names only (their values are in the deployment for the instances, never here).
 */
import type { z } from 'zod';
import type { Deployment } from '../model/deployment.js';
import type { FunctionSpec } from '../model/spec.js';
import type { resolvedSpecSchema } from './response-schemas.js';

export function resolvedView(
  deployment: Deployment,
  spec: FunctionSpec,
  secretNames: string[],
): z.output<typeof resolvedSpecSchema> {
  const d = deployment;
  return {
    version: d.version,
    runtime: d.runtime,
    handler: d.handler,
    flavor: d.flavor,
    command: d.command,
    env: { ...d.env },
    secrets: secretNames,
    triggers: { mqtt: spec.triggers?.mqtt ?? [], cron: spec.triggers?.cron ?? [] },
    timeoutMs: d.timeoutMs,
    startTimeoutMs: d.startTimeoutMs,
    limits: { ...d.limits },
    network: d.network,
    access: { callers: d.callers === null ? null : [...d.callers], private: d.private },
  };
}
