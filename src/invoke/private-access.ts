/**
 * Private functions (skiff.json `access.private`): the one check every external entry point makes
 * before a private function runs. The token is a JWT in the legacy format of SCW Functions (the
 * hosted FaaS whose clients send `SCW-Functions-Token`), so that its clients' tokens work unchanged:
 *
 * - read from `X-Auth-Token`, else `SCW-Functions-Token`, else `SCW_FUNCTIONS_TOKEN` (SCW's names),
 *   else `Authorization: Bearer <jwt>` (Skiff's own; only when none of the others is sent);
 * - RS256 only (the algorithm list is pinned: `none` and HS* are refused), verified with the
 *   platform's public key (src/store/access-keys.ts); `exp` and `nbf` are enforced when present;
 * - claim `application_claim`: an array of exactly one `{ namespace_id, application_id }`, accepted
 *   when `namespace_id` is the platform's namespace id or `application_id` the function's id.
 *
 * The outcome is typed (`AccessOutcome`) and the texts are SCW's; `accessError` turns a refusal
 * into a SkiffError whose message is that text, and `accessFailureText` gives gateway rules that answer
 * in plain text (a dialect's `failure`) the exact body. `ctx.call` and `ctx.cast` never come here:
 * `access.callers` governs them.
 */
import type { HeaderPairs, Invocation, Result, TriggerKind } from '../model/invocation.js';
import { SkiffError, type ErrorCode } from '../shared/errors.js';
import type { AccessKeys } from '../store/access-keys.js';

/** The headers a token is read from, first found wins. */
export const TOKEN_HEADERS = ['x-auth-token', 'scw-functions-token', 'scw_functions_token'] as const;
/** The only algorithm a token may be signed with. */
export const TOKEN_ALGORITHMS = ['RS256'];

export type AccessDenial = 'no-token' | 'not-setup' | 'invalid' | 'forbidden';

export type AccessOutcome = { ok: true } | { ok: false; reason: AccessDenial };

/** Status, Skiff code and SCW's text of each refusal. */
export const ACCESS_DENIALS: Record<AccessDenial, { status: number; code: ErrorCode; text: string }> = {
  'no-token': { status: 403, code: 'SKIFF_E_FORBIDDEN', text: 'Forbidden' },
  'not-setup': { status: 500, code: 'SKIFF_E_INTERNAL', text: 'function runtime not setup correctly' },
  invalid: { status: 401, code: 'SKIFF_E_UNAUTHORIZED', text: 'authorization token not valid' },
  forbidden: { status: 403, code: 'SKIFF_E_FORBIDDEN', text: 'Forbidden' },
};

/** Which triggers need a token for a private function; the others are the platform's own or refused. */
const TOKEN_TRIGGERS: ReadonlySet<TriggerKind> = new Set(['http', 'grpc']);
/** Triggers that cannot carry a token: a private function refuses them. */
const REFUSED_TRIGGERS: ReadonlySet<TriggerKind> = new Set(['coap']);

const denials = new WeakSet<SkiffError>();

/** The SkiffError of a refusal: its message is SCW's text. */
export function accessError(reason: AccessDenial): SkiffError {
  const { code, text } = ACCESS_DENIALS[reason];
  const error = new SkiffError(code, text);
  denials.add(error);
  return error;
}

/** The plain-text body (SCW's, with its newline) when `error` is a private function's refusal. */
export function accessFailureText(error: SkiffError): string | undefined {
  return denials.has(error) ? `${error.message}\n` : undefined;
}

/** The token of a request: the first of `TOKEN_HEADERS` sent non-empty, else a bearer token, else undefined. */
export function tokenOf(headers: HeaderPairs): string | undefined {
  // an empty header counts as absent: the next name is read (as SCW's gateway does)
  for (const wanted of TOKEN_HEADERS) {
    const hit = headers.find(([name, value]) => name.toLowerCase() === wanted && value.trim() !== '');
    if (hit !== undefined) return hit[1].trim();
  }
  const auth = headers.find(([name]) => name.toLowerCase() === 'authorization');
  return auth === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(auth[1])?.[1];
}

/**
 * The request headers a private function sees: without the platform's token headers (and a bearer
 * `Authorization`), so that its code never holds its callers' tokens, which may open every private
 * function of the platform (namespace tokens).
 */
export function withoutTokens(headers: HeaderPairs): HeaderPairs {
  return headers.filter(([raw, value]) => {
    const name = raw.toLowerCase();
    if ((TOKEN_HEADERS as readonly string[]).includes(name)) return false;
    return !(name === 'authorization' && /^Bearer\s/i.test(value));
  });
}

export interface PrivateAccessDeps {
  keys: AccessKeys;
  /** Whether the function's live version is private (throws SKIFF_E_FUNCTION_NOT_FOUND for none). */
  isPrivate(name: string): boolean;
  /** The function's application id, or undefined when it has none yet. */
  applicationId(name: string): string | undefined;
}

/** The one claim of a token, or undefined when there are zero, several or it is not an object. */
function onlyClaim(payload: Record<string, unknown>): Record<string, unknown> | undefined {
  const claims = payload['application_claim'];
  if (!Array.isArray(claims) || claims.length !== 1) return undefined;
  const claim: unknown = claims[0];
  return typeof claim === 'object' && claim !== null && !Array.isArray(claim)
    ? (claim as Record<string, unknown>)
    : undefined;
}

const same = (given: unknown, id: string | undefined): boolean =>
  typeof given === 'string' && id !== undefined && id !== '' && given === id;

export class PrivateAccess {
  constructor(private readonly deps: PrivateAccessDeps) {}

  /**
   * Whether an invocation of `name` by `trigger` is checked at all (a private function reached from
   * outside): the rest, nearly every call, pass without a promise on the invocation path.
   */
  checks(name: string, trigger: TriggerKind): boolean {
    return (TOKEN_TRIGGERS.has(trigger) || REFUSED_TRIGGERS.has(trigger)) && this.deps.isPrivate(name);
  }

  /** The headers a request may invoke `name` with: as they are when unchecked, else `authorize`'s. */
  admit(name: string, trigger: TriggerKind, headers: HeaderPairs): HeaderPairs | Promise<HeaderPairs> {
    return this.checks(name, trigger) ? this.authorize(name, trigger, headers) : headers;
  }

  /** `invoke`, refusing first an invocation that may not reach its (private) function. */
  guard(invoke: (inv: Invocation) => Promise<Result>): (inv: Invocation) => Promise<Result> {
    return async (inv) => {
      if (!this.checks(inv.function, inv.trigger)) return invoke(inv);
      const headers = await this.authorize(inv.function, inv.trigger, inv.headers);
      return invoke({ ...inv, headers });
    };
  }

  /** Whether a token lets a caller invoke the function `name` (which must be private to be asked). */
  async check(name: string, token: string | undefined): Promise<AccessOutcome> {
    if (token === undefined) return { ok: false, reason: 'no-token' };
    const { keys, namespaceId } = this.deps.keys;
    if ('problem' in keys) return { ok: false, reason: 'not-setup' };
    let payload: Record<string, unknown>;
    try {
      // jose loads at the first token checked: most platforms never see one
      const { jwtVerify } = await import('jose');
      ({ payload } = await jwtVerify(token, keys.publicKey, { algorithms: TOKEN_ALGORITHMS }));
    } catch {
      // a bad signature or form, another algorithm, expired, not yet valid (jose's errors)
      return { ok: false, reason: 'invalid' };
    }
    const claim = onlyClaim(payload);
    if (claim === undefined) return { ok: false, reason: 'invalid' };
    if (same(claim['namespace_id'], namespaceId)) return { ok: true };
    if (same(claim['application_id'], this.deps.applicationId(name))) return { ok: true };
    return { ok: false, reason: 'forbidden' };
  }

  /**
   * Throws the refusal when a request by `trigger` with `headers` may not invoke `name`: a private
   * function needs a valid token over HTTP and gRPC and refuses CoAP; any other trigger (the async
   * queue, MQTT rules, cron, calls and casts) is the platform's own and passes.
   */
  async authorize(name: string, trigger: TriggerKind, headers: HeaderPairs): Promise<HeaderPairs> {
    if (!this.checks(name, trigger)) return headers;
    if (REFUSED_TRIGGERS.has(trigger)) throw accessError('forbidden');
    const outcome = await this.check(name, tokenOf(headers));
    if (!outcome.ok) throw accessError(outcome.reason);
    return withoutTokens(headers);
  }
}
