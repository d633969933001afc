/**
 * The token routes' part of the OpenAPI document (openapi.ts spreads it into `paths`): make a token for
 * a private function, and revoke every function-scoped token of a function.
 */
import { functionParams } from './request-schemas.js';
import { parameters, schemaRef, type SchemaName } from './openapi-schemas.js';

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` }) as const;
const answer = (description: string, name: SchemaName) =>
  ({ description, content: { 'application/json': { schema: schemaRef(name) } } }) as const;

const tags = ['tokens'];
const nameParameters = parameters('path', functionParams);
const errors = {
  '400': ref('TokenBadRequest'),
  '401': ref('Unauthorized'),
  '404': ref('NotFound'),
  '500': ref('Internal'),
} as const;

export const tokenTag = {
  name: 'tokens',
  description:
    'Tokens of private functions (skiff.json `access.private`): JWTs in the legacy format of SCW Functions (RS256, ' +
    'one `application_claim`), sent to the gateway in `X-Auth-Token` or `SCW-Functions-Token`.',
};

export const tokenPaths = {
  '/v1/access': {
    get: {
      operationId: 'getAccess',
      tags,
      summary: 'The platform’s namespace id and the public key that verifies tokens (never the private key)',
      responses: {
        '200': answer('The namespace id and the public key.', 'AccessInfo'),
        '401': ref('Unauthorized'),
        '500': ref('Internal'),
      },
    },
  },
  '/v1/functions/{name}/tokens': {
    post: {
      operationId: 'createToken',
      tags,
      summary: 'Make a token that lets a caller invoke the function (or every private function)',
      description:
        'Scope `function` names the function’s application id: it works until the function is deleted ' +
        'or its tokens are revoked. Scope `namespace` names the platform’s namespace id: it works for every ' +
        'private function. The body may be empty (a function token that never expires). 500 ' +
        'SKIFF_E_INTERNAL when the platform’s signing key is missing or unreadable.',
      parameters: nameParameters,
      requestBody: {
        required: false,
        content: { 'application/json': { schema: schemaRef('TokenRequest') } },
      },
      responses: { '201': answer('The token.', 'Token'), ...errors },
    },
  },
  '/v1/functions/{name}/tokens/revoke': {
    post: {
      operationId: 'revokeTokens',
      tags,
      summary: 'Revoke every function-scoped token of the function',
      description:
        'Gives the function a new application id, so every function-scoped token made for it until now ' +
        'is refused (403 `Forbidden`). Namespace-scoped tokens are not affected.',
      parameters: nameParameters,
      responses: { '200': answer('Revoked.', 'TokenRevoke'), ...errors },
    },
  },
};
