import type { DialectFlag } from '../dialect.js';

/** The `skiff serve` flags of this dialect (plain data: the CLI lists them without loading the dialect). */
export const baetylFlags: readonly DialectFlag[] = [
  {
    flag: '--baetyl',
    description:
      'OpenEdge / Baetyl: its gRPC services, v2 HTTP proxy and configuration import (docs/compat/baetyl.md)',
    sets: 'enabled',
  },
];
