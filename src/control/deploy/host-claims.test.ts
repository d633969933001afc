/** One host, one function: the deploy-time check against the live versions of the others. */
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../shared/errors.js';
import type { VersionInfo } from '../../store/registry.js';
import { hostClaims } from './host-claims.js';

const live = (fn: string, hosts: string[]) =>
  ({ function: fn, version: 1, spec: { routes: hosts.map((host) => ({ host })) } }) as unknown as VersionInfo;

describe('host claims', () => {
  const claims = hostClaims({ liveVersions: () => [live('web', ['api.example.com', '*.example.org'])] }, [
    'GW.example.net',
  ]);
  const refusal = (name: string, host: string): SkiffError | undefined => {
    try {
      claims.check(name, [{ host }]);
      return undefined;
    } catch (err) {
      return err as SkiffError;
    }
  };

  it('refuses a host another function holds, naming it; the holder may keep it', () => {
    expect(refusal('thief', 'api.example.com')).toMatchObject({
      code: 'SKIFF_E_HOST_TAKEN',
      details: { host: 'api.example.com', function: 'web' },
    });
    expect(refusal('thief', '*.example.org')?.code).toBe('SKIFF_E_HOST_TAKEN');
    expect(refusal('web', 'api.example.com')).toBeUndefined();
    // an exact name under another's wildcard is not the same claim (the exact one wins at the gateway)
    expect(refusal('thief', 'a.example.org')).toBeUndefined();
  });

  it("refuses the gateway's own name", () => {
    expect(refusal('any', 'gw.example.net')?.code).toBe('SKIFF_E_INVALID_SPEC');
  });
});
