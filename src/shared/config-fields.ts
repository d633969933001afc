/** The field types the configuration schema is built of (sizes, ports, timeouts, hosts). */
import { z } from 'zod';

export const MiB = 1024 * 1024;

export const port = z.number().int().min(0).max(65535);
/** Connections a listener holds at once (src/shared/listeners.ts); lowered at start to fit the fd limit. */
export const maxConnections = (fallback: number) => z.number().int().min(1).max(1_000_000).default(fallback);
/** `::` listens on IPv6 and IPv4 (0.0.0.0 on a machine without IPv6). */
export const PUBLIC_HOST = '::';
export const millis = (fallback: number) => z.number().int().min(1).default(fallback);
/** A size in bytes; bodies may be at most 64 MiB, which the runtime protocol's frames can carry. */
export const bytes = (fallback: number, max = 64 * MiB) => z.number().int().min(1).max(max).default(fallback);
