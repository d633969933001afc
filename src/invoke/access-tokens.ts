/**
 * Tokens for private functions (src/invoke/private-access.ts checks them): JWTs in SCW Functions'
 * legacy format, RS256, signed with the platform's private key, with the registered claims SCW's own
 * tokens carry (`TOKEN_ISSUER`, `sub: "token"`, `aud: "functions"`; not checked on input) and one
 * `application_claim`:
 *
 * - scope `function`: `{ namespace_id: "", application_id: <the function's application id> }`, valid
 *   until the function's id is rotated (`revoke`) or the function is deleted;
 * - scope `namespace`: `{ namespace_id: <the platform's namespace id>, application_id: "" }`, valid for
 *   every private function of the platform.
 */
import { SkiffError } from '../shared/errors.js';
import type { AccessKeys } from '../store/access-keys.js';

/**
 * The `iss` of the tokens Skiff makes. Verifiers of this format do not check it (SCW's own tokens
 * carry their platform's name there), so Skiff names itself.
 */
export const TOKEN_ISSUER = 'skiff';

export const TOKEN_SCOPES = ['function', 'namespace'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export interface MintedToken {
  token: string;
  /** When it expires (ISO 8601), or null for a token without `exp`. */
  expiresAt: string | null;
}

export interface MintRequest {
  scope: TokenScope;
  /** The function's application id (scope `function`). */
  applicationId: string;
  /** Seconds from now until it expires; undefined: no expiry. */
  expiresInSec?: number;
}

/** Signs a token; SKIFF_E_INTERNAL when the platform's signing key is missing or unreadable. */
export async function mintToken(keys: AccessKeys, request: MintRequest): Promise<MintedToken> {
  if ('problem' in keys.keys) {
    throw new SkiffError(
      'SKIFF_E_INTERNAL',
      'function runtime not setup correctly: the signing key of private functions is missing or unreadable; see the platform log',
    );
  }
  const now = Math.floor(Date.now() / 1000);
  const claim =
    request.scope === 'namespace'
      ? { namespace_id: keys.namespaceId, application_id: '' }
      : { namespace_id: '', application_id: request.applicationId };
  // jose loads at the first token minted: no part of the platform's start
  const { SignJWT } = await import('jose');
  const jwt = new SignJWT({ application_claim: [claim] })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setSubject('token')
    .setAudience('functions')
    .setIssuedAt(now);
  const exp = request.expiresInSec === undefined ? undefined : now + request.expiresInSec;
  if (exp !== undefined) jwt.setExpirationTime(exp);
  return {
    token: await jwt.sign(keys.keys.privateKey),
    expiresAt: exp === undefined ? null : new Date(exp * 1000).toISOString(),
  };
}
