import type { FlavorName, RuntimeName } from './spec.js';
import type { Limits, NetworkMode } from './limits.js';
import type { Scaling } from './scaling.js';
import type { CorsPolicy } from './cors.js';

/** What the executor needs to run one immutable version of a function. */
export interface Deployment {
  function: string;
  version: number;
  hash: string;
  runtime: RuntimeName;
  /** Entry file relative to codeDir, after any build step. */
  handler: string;
  codeDir: string;
  env: Record<string, string>;
  /** The function's secrets (name → value): not part of the version, resolved when it is started. */
  secrets: Record<string, string>;
  timeoutMs: number;
  /** How long an instance may take to load the function (INIT → READY). */
  startTimeoutMs: number;
  /** `custom` and `http` runtimes: argv of the command to start. */
  command: string[] | null;
  /** Effective scaling: platform defaults < the version's spec < the function's override. */
  scaling: Scaling;
  /** Resource limits of every instance: the platform's defaults < the version's spec. */
  limits: Limits;
  network: NetworkMode;
  /** The calling convention the bridge uses (`native` or a compatibility flavor). */
  flavor: FlavorName;
  /** Runtime `custom`: the flavor's bridge that runs `command` as its child (Flavor.customShim). */
  customShim?: string;
  /** Whether callers see the function's own error text in a function error (its flavor's rule). */
  showErrorText: boolean;
  /** The functions that may `ctx.call` it (skiff.json `access.callers`); null: every function. */
  callers: readonly string[] | null;
  /** skiff.json `access.private`: the gateway and gRPC need a token (src/invoke/private-access.ts). */
  private: boolean;
  /** The flavor's rule: an instance whose call timed out is replaced (model/flavor.ts). */
  replaceAfterTimeout?: boolean;
  /** skiff.json `cors`, ready for the gateway (made once per version); absent: no CORS by the gateway. */
  cors?: CorsPolicy;
}

export function deploymentKey(d: Pick<Deployment, 'function' | 'version'>): string {
  return `${d.function}@${d.version}`;
}
