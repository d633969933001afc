/**
 * Baetyl v2 services: a service is a named, ordered group of functions (upstream: one runtime
 * process serving the functions of its configuration, the first one answering a call that names
 * none). The v2 proxy (proxy.ts) and `faas.Function/Call` (grpc.ts) look services up here; the
 * configuration import records them through the same module. Kept in `<dataDir>/baetyl-services.json`,
 * read once and rewritten whole (to a temporary file, then renamed) at each change; `servicesFor`
 * gives every part of one platform the same instance, so a change is seen at once.
 *
 * A service that is not recorded is, when a live function of flavor `baetyl` has its name, a service
 * of that function alone (`resolveV2`).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SkiffError } from '../../shared/errors.js';

export const SERVICES_FILE = 'baetyl-services.json';

/** A service's name: what one path segment of the proxy may hold. */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;
const MAX_FUNCTIONS = 1000;

const fileSchema = z.object({
  services: z.record(z.string(), z.array(z.string().min(1)).max(MAX_FUNCTIONS)),
});

export interface BaetylService {
  service: string;
  /** Skiff function names, in order: the first answers a call that names no function. */
  functions: string[];
}

export class BaetylServices {
  private readonly services = new Map<string, string[]>();

  constructor(private readonly file: string) {
    if (!existsSync(file)) return;
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (err) {
      throw new SkiffError(
        'SKIFF_E_CONFIG_INVALID',
        `${file} is not a Baetyl services file (${(err as Error).message.slice(0, 200)}): fix or remove it`,
        { cause: err },
      );
    }
    for (const [service, functions] of Object.entries(parsed.services)) this.services.set(service, functions);
  }

  /** The functions of a recorded service, in order, or undefined when it is not recorded. */
  lookup(service: string): readonly string[] | undefined {
    return this.services.get(service);
  }

  /** Records (or replaces) a service. */
  set(service: string, functions: readonly string[]): void {
    if (!SERVICE_NAME.test(service)) {
      throw new SkiffError(
        'SKIFF_E_INVALID_REQUEST',
        `a Baetyl service name is 1-253 letters, digits, dots, dashes and underscores, not ${JSON.stringify(service.slice(0, 80))}`,
      );
    }
    if (functions.length > MAX_FUNCTIONS || functions.some((fn) => typeof fn !== 'string' || fn === '')) {
      throw new SkiffError(
        'SKIFF_E_INVALID_REQUEST',
        `a Baetyl service lists at most ${MAX_FUNCTIONS} non-empty function names`,
      );
    }
    this.services.set(service, [...functions]);
    this.save();
  }

  /** Forgets a service; true when it was recorded. */
  delete(service: string): boolean {
    const had = this.services.delete(service);
    if (had) this.save();
    return had;
  }

  /** Every recorded service, by name. */
  list(): BaetylService[] {
    return [...this.services.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([service, functions]) => ({ service, functions: [...functions] }));
  }

  private save(): void {
    const body = { services: Object.fromEntries(this.list().map((s) => [s.service, s.functions])) };
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}

const open = new Map<string, BaetylServices>();

/** The services of the platform whose data directory is `dataDir` (one instance per directory). */
export function servicesFor(dataDir: string): BaetylServices {
  const file = path.join(path.resolve(dataDir), SERVICES_FILE);
  let services = open.get(file);
  if (services === undefined) {
    services = new BaetylServices(file);
    open.set(file, services);
  }
  return services;
}

/** Where a v2 call goes: a Skiff function, or why none (each with upstream's answer, proxy.ts/grpc.ts). */
export type V2Target =
  { ok: true; fn: string } | { ok: false; reason: 'no-service' | 'no-functions' | 'not-found' };

/**
 * The function a v2 call of `service` naming `functionName` reaches: the service's recorded
 * functions (else, when a live function of flavor `baetyl` is named `service`, that one alone);
 * an empty `functionName` takes the first.
 */
export function resolveV2(
  lookup: (service: string) => readonly string[] | undefined,
  isBaetylFunction: (name: string) => boolean,
  service: string,
  functionName: string,
): V2Target {
  const functions = lookup(service) ?? (isBaetylFunction(service) ? [service] : undefined);
  if (functions === undefined) return { ok: false, reason: 'no-service' };
  if (functionName === '') {
    const first = functions[0];
    return first === undefined ? { ok: false, reason: 'no-functions' } : { ok: true, fn: first };
  }
  return functions.includes(functionName)
    ? { ok: true, fn: functionName }
    : { ok: false, reason: 'not-found' };
}
