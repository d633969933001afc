/**
 * The configuration side of the listeners' connection limits: the limits and deadlines each
 * listener gets, and the caps fitted into the process's file-descriptor limit at start.
 */
import type { Config } from './config.js';
import { fitConnectionCaps, raiseFdLimit, type FdLimit } from './fd-limit.js';
import type { ConnectionLimits, HttpTimeouts } from './listeners.js';
import type { Logger } from './logger.js';

/** The limits of a listener that may hold `maxConnections` at once. */
export function connectionLimits(config: Config, maxConnections: number): ConnectionLimits {
  const c = config.connections;
  return {
    maxConnections,
    maxPerAddress: Math.min(c.maxPerAddress, maxConnections),
    idleTimeoutMs: c.idleTimeoutMs,
    bodyIdleTimeoutMs: c.bodyIdleTimeoutMs,
  };
}

export function httpTimeouts(config: Config): HttpTimeouts {
  const c = config.connections;
  return {
    headersTimeoutMs: c.headersTimeoutMs,
    requestTimeoutMs: c.requestTimeoutMs,
    keepAliveTimeoutMs: c.keepAliveTimeoutMs,
  };
}

/** The caps of the listeners that will open, by name. */
function listenerCaps(config: Config): Record<string, number> {
  const caps: Record<string, number> = {
    control: config.control.maxConnections,
    http: config.http.maxConnections,
  };
  if (config.grpc.enabled) caps['grpc'] = config.grpc.maxConnections;
  if (config.mqtt.enabled && config.mqtt.url === null && config.mqtt.broker.enabled) {
    caps['mqtt'] = config.mqtt.broker.maxConnections;
  }
  return caps;
}

/**
 * Raises the open-file limit if it can and returns the configuration with the listeners' caps fitted
 * under it, keeping `connections.reserveFds` free; lowered caps are logged as a warning. Throws
 * SKIFF_E_CONFIG_INVALID when the limit leaves no room at all.
 */
export function budgetConnections(
  config: Config,
  logger: Logger,
  limit: FdLimit | undefined = raiseFdLimit(logger),
): Config {
  if (limit === undefined || !Number.isFinite(limit.soft)) return config;
  const wanted = listenerCaps(config);
  const reserve = config.connections.reserveFds;
  const { caps, lowered } = fitConnectionCaps(wanted, limit.soft, reserve);
  if (!lowered) return config;
  logger.warn(
    { openFileLimit: limit.soft, reserveFds: reserve, configured: wanted, lowered: caps },
    'the connection caps do not fit in the open-file limit: lowered them (raise `ulimit -n` to keep them)',
  );
  const cap = (name: string, fallback: number): number => caps[name] ?? fallback;
  return {
    ...config,
    control: { ...config.control, maxConnections: cap('control', config.control.maxConnections) },
    http: { ...config.http, maxConnections: cap('http', config.http.maxConnections) },
    grpc: { ...config.grpc, maxConnections: cap('grpc', config.grpc.maxConnections) },
    mqtt: {
      ...config.mqtt,
      broker: { ...config.mqtt.broker, maxConnections: cap('mqtt', config.mqtt.broker.maxConnections) },
    },
  };
}
