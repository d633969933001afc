import type { DialectFlag } from '../dialect.js';

/** The `skiff serve` flags of this dialect (plain data: the CLI lists them without loading the dialect). */
export const openruntimesFlags: readonly DialectFlag[] = [
  {
    flag: '--openruntimes',
    description: "Open Runtimes' executor API on its own port (9900; needs OPR_EXECUTOR_SECRET)",
    sets: 'enabled',
  },
];
