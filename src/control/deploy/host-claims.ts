/**
 * One host, one function (skiff.json `routes`, model/host-routes.ts): a deploy or a rollback whose
 * version claims a host another live function holds is refused, naming the holder; so is a claim of
 * a name the gateway itself is reached by (`http.host`). Checked against the registry's live versions
 * in the same synchronous step that makes the version live, so two deploys cannot both take a host.
 */
import { SkiffError } from '../../shared/errors.js';
import { HostTable, hostKey, type HostRoute } from '../../model/host-routes.js';
import type { Registry } from '../../store/registry.js';

export interface HostClaims {
  /** Throws when `routes` of function `name` take a host that is not free for it. */
  check(name: string, routes: readonly HostRoute[] | undefined): void;
}

export function hostClaims(
  registry: Pick<Registry, 'liveVersions'>,
  reserved: readonly string[],
): HostClaims {
  const own = new Set(reserved.map((host) => hostKey(host)).filter((key) => key !== undefined));
  return {
    check(name, routes) {
      if (routes === undefined || routes.length === 0) return;
      for (const { host } of routes) {
        if (own.has(host)) {
          throw new SkiffError(
            'SKIFF_E_INVALID_SPEC',
            `route host "${host}" is a name of the platform itself (http.host, http.publicHosts, control.host or control.allowedHosts): every function is called through it; claim another host`,
          );
        }
      }
      const others = registry.liveVersions().filter((v) => v.function !== name);
      const table = new HostTable(others.map((v) => ({ name: v.function, routes: v.spec.routes })));
      for (const { host } of routes) {
        const holder = table.holder(host);
        if (holder !== undefined) {
          throw new SkiffError(
            'SKIFF_E_HOST_TAKEN',
            `route host "${host}" belongs to function ${holder}: remove it from ${holder}'s skiff.json routes (and deploy it) first, or claim another host`,
            { details: { host, function: holder } },
          );
        }
      }
    },
  };
}
