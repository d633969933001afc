/**
 * Host routing in the gateway, in memory against a recording invoke: a matched Host reaches its
 * function at the root, but never under a prefix of another API's rules (the platform's own paths).
 */
import type { RequestListener } from 'node:http';
import { describe, expect, it } from 'vitest';
import { inMemoryClient } from '../../test/helpers/in-memory-http.js';
import type { Invocation } from '../model/invocation.js';
import { HostTable, rawHost } from '../model/host-routes.js';
import { createLogger } from '../shared/logger.js';
import { createHttpTrigger } from './http.js';
import { SKIFF_RULES } from './skiff-rules.js';

describe('host routes in the gateway', () => {
  const table = new HostTable([{ name: 'web', routes: [{ host: 'api.example.com' }] }]);
  const seen: Invocation[] = [];
  const client = inMemoryClient(
    createHttpTrigger({
      invoke: async (inv) => {
        seen.push(inv);
        return { status: 200, headers: [], body: Buffer.from('ok') };
      },
      maxBodyBytes: 1024,
      logger: createLogger('silent'),
      prefixed: [{ prefix: '/compat', rules: SKIFF_RULES }],
      hosts: (raw) => table.route(rawHost(raw)),
    }) as RequestListener,
  );
  const route = async (path: string, host: string) => {
    const res = await client.request({ path, headers: { host } });
    expect(res.status).toBe(200);
    const inv = seen.at(-1) as Invocation;
    return { name: inv.function, path: inv.path, query: inv.query };
  };

  it('routes a matching Host at the root, and leaves prefixes to their rules', async () => {
    expect(await route('/users/1?a=b', 'api.example.com')).toEqual({
      name: 'web',
      path: '/users/1',
      query: 'a=b',
    });
    expect(await route('/other/x', 'elsewhere.example.com')).toEqual({
      name: 'other',
      path: '/x',
      query: '',
    });
    // a prefix mounted on the port is the platform's: the Host does not take it over
    expect(await route('/compat/fn/x', 'api.example.com')).toEqual({ name: 'fn', path: '/x', query: '' });
    // a request target that is no path is not routed by its Host
    const star = await client.request({ method: 'OPTIONS', path: '*', headers: { host: 'api.example.com' } });
    expect(star.status).toBe(404);
    expect(await route('/compatible', 'api.example.com')).toEqual({
      name: 'web',
      path: '/compatible',
      query: '',
    });
  });
});
