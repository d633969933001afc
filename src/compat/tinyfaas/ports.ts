/**
 * tinyFaaS's listener variables, read in tinyFaaS mode: `HTTP_PORT`, `COAP_PORT`, `GRPC_PORT` (and the
 * lower-case `http_PORT`, `coap_PORT`, `grpc_PORT` upstream actually reads; upper case wins). `-1`
 * turns CoAP or gRPC off; the HTTP gateway cannot be turned off in Skiff.
 */
import { SkiffError } from '../../shared/errors.js';

interface Listeners {
  http: { port: number };
  coap: { port: number; enabled: boolean };
  grpc: { port: number; enabled: boolean };
}

function read(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[`${name.toUpperCase()}_PORT`] ?? env[`${name}_PORT`];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!/^-?\d+$/.test(raw) || port < -1 || port > 65_535) {
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `${name.toUpperCase()}_PORT=${raw} is not a port: use 0-65535, or -1 to turn the listener off`,
    );
  }
  return port;
}

/** Applies the variables to the parsed configuration (in place). */
export function applyTinyFaasPorts(config: Listeners, env: NodeJS.ProcessEnv): void {
  const http = read(env, 'http');
  if (http === -1) {
    throw new SkiffError('SKIFF_E_CONFIG_INVALID', 'HTTP_PORT=-1: Skiff cannot run without its HTTP gateway');
  }
  if (http !== undefined) config.http.port = http;
  for (const name of ['coap', 'grpc'] as const) {
    const port = read(env, name);
    if (port === -1) config[name].enabled = false;
    else if (port !== undefined) config[name].port = port;
  }
}
