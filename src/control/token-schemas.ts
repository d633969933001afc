/**
 * What the token routes of private functions (`/v1/functions/{name}/tokens`) take and answer, as zod
 * schemas: the routes validate and build their answers with these, and the OpenAPI document is
 * generated from them (openapi-schemas.ts registers the bodies, openapi-tokens.ts the paths).
 */
import { z } from 'zod';
import { TOKEN_SCOPES } from '../invoke/access-tokens.js';

/** The longest a token may live: ten years. */
export const MAX_TOKEN_LIFETIME_SEC = 10 * 365 * 24 * 3600;

/** The body of `POST /v1/functions/{name}/tokens` (may be empty: a function token without expiry). */
export const tokenRequestSchema = z
  .strictObject(
    {
      scope: z
        .enum(TOKEN_SCOPES)
        .default('function')
        .meta({
          description:
            '`function`: valid for this function until it is deleted or its tokens are revoked; ' +
            '`namespace`: valid for every private function of the platform.',
        }),
      expiresInSec: z
        .number()
        .int()
        .min(1)
        .max(MAX_TOKEN_LIFETIME_SEC)
        .optional()
        .meta({ description: 'Seconds until it expires (`exp`); absent: no expiry.' }),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown field(s) ${issue.keys.join(', ')}; a token request has scope and expiresInSec`
          : undefined,
    },
  )
  .meta({ description: 'What token to make.' });

export const tokenSchema = z.object({
  token: z.string().meta({ description: 'The JWT (RS256), for `X-Auth-Token` or `SCW-Functions-Token`.' }),
  expiresAt: z.iso.datetime().nullable().meta({ description: 'When it expires; null: never.' }),
  scope: z.enum(TOKEN_SCOPES),
  function: z.string(),
});

export const accessInfoSchema = z.object({
  namespaceId: z
    .string()
    .meta({ description: 'The platform’s namespace id (namespace-scoped tokens name it).' }),
  algorithm: z.literal('RS256'),
  publicKey: z
    .string()
    .meta({ description: 'The public key that verifies tokens, PEM `RSA PUBLIC KEY` (PKCS#1).' }),
  publicKeySpki: z.string().meta({ description: 'The same key, PEM `PUBLIC KEY` (SPKI).' }),
});

export const tokenRevokeSchema = z.object({
  function: z.string(),
  revoked: z
    .literal(true)
    .meta({ description: 'Every function-scoped token made for the function until now no longer works.' }),
});
