import type { DialectFlag } from '../dialect.js';

/** The `skiff serve` flags of this dialect (plain data: the CLI lists them without loading the dialect). */
export const tinyfaasFlags: readonly DialectFlag[] = [
  {
    flag: '--tinyfaas',
    description: 'tinyFaaS mode: its management API and invocation rules (docs/compat/tinyfaas.md)',
    sets: 'enabled',
  },
  {
    flag: '--tinyfaas-trust-loopback',
    description:
      "with --tinyfaas: upstream's trust model, no token needed from loopback (risky: any local user or function can deploy code)",
    sets: 'trustLoopback',
  },
];
