import type { RuntimeName } from '../../model/spec.js';
import { binary } from './binary.js';
import { custom } from './custom.js';
import { http } from './http.js';
import type { RuntimeLauncher } from './launcher.js';
import { node } from './node.js';
import { python } from './python.js';

export type { RuntimeLauncher };

/** Runtime name → launcher: one entry per language bridge. */
export const RUNTIMES: Record<RuntimeName, RuntimeLauncher> = { node, python, binary, custom, http };
