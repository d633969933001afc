import type { DialectFlag } from '../dialect.js';

/** The `skiff serve` flags of this dialect (plain data: the CLI lists them without loading the dialect). */
export const edgelessFlags: readonly DialectFlag[] = [
  {
    flag: '--edgeless',
    description:
      'EDGELESS: workflows in EDGELESS JSON, attached guest-API instances (docs/compat/edgeless.md)',
    sets: 'enabled',
  },
];
