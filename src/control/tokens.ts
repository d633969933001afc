/**
 * Routes of private functions' tokens (src/invoke/access-tokens.ts): make one, and revoke every
 * function-scoped token of a function by giving it a new application id. Admin token required, as on
 * every control route.
 */
import type { z } from 'zod';
import { mintToken } from '../invoke/access-tokens.js';
import { SkiffError } from '../shared/errors.js';
import { readBody, sendJson } from '../shared/http.js';
import { validateName } from '../shared/validate.js';
import { publicKeyPem, type AccessKeys } from '../store/access-keys.js';
import type { Registry } from '../store/registry.js';
import type { Route } from './app.js';
import { parseRequest } from './request-schemas.js';
import {
  tokenRequestSchema,
  type accessInfoSchema,
  type tokenRevokeSchema,
  type tokenSchema,
} from './token-schemas.js';

export interface TokenDeps {
  registry: Pick<Registry, 'getFunction' | 'ensureApplicationId' | 'rotateApplicationId'>;
  keys: AccessKeys;
}

const MAX_BODY_BYTES = 4096;

function parseBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new SkiffError(
      'SKIFF_E_INVALID_REQUEST',
      'the body must be JSON: { "scope": "function" | "namespace", "expiresInSec": <seconds> }',
    );
  }
}

export function tokenRoutes(deps: TokenDeps): Route[] {
  const requireFunction = (raw: string): string => {
    const name = validateName(raw);
    if (deps.registry.getFunction(name) === undefined)
      throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `no function named ${JSON.stringify(name)}`);
    return name;
  };
  return [
    {
      method: 'GET',
      path: '/v1/access',
      handler: ({ res }) => {
        const { keys, namespaceId } = deps.keys;
        if ('problem' in keys) {
          throw new SkiffError(
            'SKIFF_E_INTERNAL',
            'function runtime not setup correctly: the signing key of private functions is missing or unreadable; see the platform log',
          );
        }
        const pem = publicKeyPem(keys);
        sendJson(res, 200, {
          namespaceId,
          algorithm: 'RS256',
          publicKey: pem.pkcs1,
          publicKeySpki: pem.spki,
        } satisfies z.output<typeof accessInfoSchema>);
      },
    },
    {
      method: 'POST',
      path: '/v1/functions/{name}/tokens',
      handler: async ({ req, res, params }) => {
        const name = requireFunction(params['name'] ?? '');
        const { scope, expiresInSec } = parseRequest(
          tokenRequestSchema,
          parseBody(await readBody(req, MAX_BODY_BYTES)),
        );
        const minted = await mintToken(deps.keys, {
          scope,
          applicationId: deps.registry.ensureApplicationId(name),
          ...(expiresInSec === undefined ? {} : { expiresInSec }),
        });
        sendJson(res, 201, { ...minted, scope, function: name } satisfies z.output<typeof tokenSchema>);
      },
    },
    {
      method: 'POST',
      path: '/v1/functions/{name}/tokens/revoke',
      handler: ({ res, params }) => {
        const name = requireFunction(params['name'] ?? '');
        deps.registry.rotateApplicationId(name);
        sendJson(res, 200, { function: name, revoked: true } satisfies z.output<typeof tokenRevokeSchema>);
      },
    },
  ];
}
