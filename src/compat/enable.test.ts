import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../shared/config-load.js';
import { createLogger } from '../shared/logger.js';
import { SKIFF_RULES } from '../triggers/skiff-rules.js';
import type { Dialect, DialectContext, Dialects, GatewayMount } from './dialect.js';
import { enableDialects } from './enable.js';
import { dialectFlavors, dialectSections } from './index.js';

const section = z
  .object({ enabled: z.boolean().default(false) })
  .strict()
  .prefault({});

/** A dialect that only brings gateway rules (and a flavor, and a note). */
function fake(name: string, mount: GatewayMount): Dialect {
  return {
    name,
    config: { schema: section },
    flavors: [{ name: `${name}-flavor`, showsErrorText: false }],
    enable: () => ({ gateway: { rules: SKIFF_RULES, mount }, notes: [`${name} on`] }),
  };
}

/** The context with the configuration of `on` enabled; the services are never touched by fakes. */
function context(dialects: Dialects, on: string[]): DialectContext {
  const config = loadConfig(
    { env: {}, cwd: '/tmp', flags: { compat: Object.fromEntries(on.map((n) => [n, { enabled: true }])) } },
    dialectSections(dialects),
  );
  return {
    config,
    logger: createLogger('silent'),
    endpoints: () => ({}),
    token: 't',
  } as unknown as DialectContext;
}

describe('enableDialects', () => {
  const dialects: Dialects = {
    whole: fake('whole', { on: 'function-port' }),
    also: fake('also', { on: 'function-port' }),
    pre: fake('pre', { on: 'prefix', prefix: '/pre' }),
    deeper: fake('deeper', { on: 'prefix', prefix: '/pre/deeper' }),
    own: fake('own', { on: 'own-port', name: 'own-http', host: '127.0.0.1', port: 0 }),
  };

  it('enables only what the configuration turns on', async () => {
    const none = await enableDialects(dialects, context(dialects, []));
    expect(none.names).toEqual([]);
    expect(none.functionPort).toBeUndefined();
  });

  it('lets several dialects share the gateway: the port, prefixes (longest first) and own ports', async () => {
    const all = await enableDialects(dialects, context(dialects, ['whole', 'pre', 'deeper', 'own']));
    expect(all.names).toEqual(['whole', 'pre', 'deeper', 'own']);
    expect(all.functionPort).toBe(SKIFF_RULES);
    expect(all.prefixed.map((p) => p.prefix)).toEqual(['/pre/deeper', '/pre']);
    expect(all.ownGateways).toMatchObject([{ name: 'own-http', host: '127.0.0.1', port: 0 }]);
    expect(all.notes).toEqual(['whole on', 'pre on', 'deeper on', 'own on']);
  });

  it('refuses two dialects on the whole port, or on one prefix', async () => {
    await expect(enableDialects(dialects, context(dialects, ['whole', 'also']))).rejects.toMatchObject({
      code: 'SKIFF_E_CONFIG_INVALID',
      message: expect.stringContaining('compat.whole and compat.also') as unknown,
    });
    const twice: Dialects = {
      a: fake('a', { on: 'prefix', prefix: '/x' }),
      b: fake('b', { on: 'prefix', prefix: '/x' }),
    };
    await expect(enableDialects(twice, context(twice, ['a', 'b']))).rejects.toMatchObject({
      code: 'SKIFF_E_CONFIG_INVALID',
    });
    const bad: Dialects = { c: fake('c', { on: 'prefix', prefix: 'x/' }) };
    await expect(enableDialects(bad, context(bad, ['c']))).rejects.toMatchObject({
      code: 'SKIFF_E_CONFIG_INVALID',
    });
  });

  it('knows every dialect’s flavors, enabled or not, and native', () => {
    expect([...dialectFlavors(dialects).keys()]).toEqual([
      'native',
      'whole-flavor',
      'also-flavor',
      'pre-flavor',
      'deeper-flavor',
      'own-flavor',
    ]);
    expect(() =>
      dialectFlavors({ a: fake('a', { on: 'function-port' }), b: fake('a', { on: 'function-port' }) }),
    ).toThrow(/declared twice/);
  });
});
