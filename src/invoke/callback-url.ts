/**
 * The check of an async call's `X-Callback-Url` when the call is accepted (before anything is queued,
 * so a refused URL never gets a 202): the outbound policy's URL check, and, for a name, the addresses
 * DNS gives for it now. The request itself (async-queue.ts) checks again on the addresses it connects
 * to, so a name that changes its answer later (DNS rebinding) is still refused then.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { SkiffError } from '../shared/errors.js';
import { checkDestination, forbiddenAddress, type OutboundPolicy } from '../shared/outbound.js';

const WHAT = 'X-Callback-Url';
/** How long the name's DNS answer may take at accept time. */
export const CALLBACK_RESOLVE_TIMEOUT_MS = 2_000;

/** Every address of a name (the resolver; the system's by default). */
export type Resolve = (hostname: string) => Promise<string[]>;

const systemResolve: Resolve = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

const refuse = (message: string): SkiffError =>
  new SkiffError('SKIFF_E_FORBIDDEN_DESTINATION', `${WHAT}: ${message}`);

/**
 * Returns the callback URL to store, or throws `SKIFF_E_FORBIDDEN_DESTINATION`: not http(s), with
 * credentials, or naming or resolving to an address the policy forbids. A name that does not resolve
 * (within 2 s) is refused too: its callback could never be delivered.
 */
export async function acceptCallbackUrl(
  raw: string,
  policy: OutboundPolicy,
  resolve: Resolve = systemResolve,
): Promise<string> {
  const url = checkDestination(raw, WHAT, policy);
  if (policy.allowPrivate) return url.href;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return url.href; // checked above
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(refuse(`${host} did not resolve within ${CALLBACK_RESOLVE_TIMEOUT_MS} ms`)),
      CALLBACK_RESOLVE_TIMEOUT_MS,
    );
  });
  let addresses: string[];
  try {
    addresses = await Promise.race([
      resolve(host).catch((err: unknown) => {
        throw refuse(`${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
  if (addresses.length === 0) throw refuse(`${host} has no address`);
  for (const address of addresses) {
    const why = forbiddenAddress(address);
    if (why !== undefined) throw refuse(`${host} resolves to ${address}, ${why}`);
  }
  return url.href;
}
