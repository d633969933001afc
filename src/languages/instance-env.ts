import type { Deployment } from '../model/deployment.js';
import type { Config } from '../shared/config.js';

/** The variables the bridges rely on: a function's env or secrets never replace them. */
export const PLATFORM_VARS = [
  'PATH',
  'HOME',
  'LANG',
  'SKIFF_PROTOCOL_FD',
  'SKIFF_MAX_RESPONSE_BYTES',
] as const;
const PLATFORM_VAR_SET: ReadonlySet<string> = new Set(PLATFORM_VARS);

/** `vars` without the platform's own variables (for INIT's env and secrets). */
export function withoutPlatformVars(vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter(([key]) => !PLATFORM_VAR_SET.has(key)));
}

/** The environment every instance gets besides the function's own `env`: nothing of the platform's. */
export function baseEnv(config: Config): Record<(typeof PLATFORM_VARS)[number], string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    SKIFF_PROTOCOL_FD: '3',
    SKIFF_MAX_RESPONSE_BYTES: String(config.functions.maxResponseBytes),
  };
}

/**
 * The function's env first, then its secrets (a secret wins over an env entry of the same name), so
 * neither can override what the bridge relies on.
 */
export function instanceEnv(deployment: Deployment, config: Config, extra: Record<string, string> = {}) {
  return { ...deployment.env, ...deployment.secrets, ...extra, ...baseEnv(config) };
}
