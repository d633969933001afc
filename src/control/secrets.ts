/**
 * Routes of a function's secrets. Values go in and never come out: the API lists names and change
 * times only. Secrets are not part of a version; a change restarts the function's instances.
 */
import { SkiffError } from '../shared/errors.js';
import { readBody, sendJson } from '../shared/http.js';
import type { Registry } from '../store/registry.js';
import type { Route } from './app.js';
import type { Deployer } from './deploy/deployer.js';
import { validateName } from '../shared/validate.js';
import {
  MAX_SECRET_VALUE_BYTES,
  MAX_SECRETS_PER_FUNCTION,
  parseRequest,
  SECRET_BODY_HINT,
  secretBodySchema,
  secretParams,
} from './request-schemas.js';
import type { secretListSchema } from './response-schemas.js';
import type { z } from 'zod';

export {
  MAX_SECRET_NAME_LENGTH,
  MAX_SECRET_VALUE_BYTES,
  MAX_SECRETS_PER_FUNCTION,
  SECRET_NAME_PATTERN,
} from './request-schemas.js';

export interface SecretsDeps {
  registry: Registry;
  deployer: Deployer;
}

/** JSON escaping can make a 64 KiB value up to six times longer on the wire. */
const MAX_BODY_BYTES = 6 * MAX_SECRET_VALUE_BYTES + 1024;

const invalid = (message: string) => new SkiffError('SKIFF_E_INVALID_REQUEST', message);

/** The `value` of a `{ "value": "..." }` body; the value itself never appears in an error message. */
function parseValue(body: Buffer): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid(SECRET_BODY_HINT);
  }
  return parseRequest(secretBodySchema, parsed).value;
}

/** Routes of the `secrets` sub-resource of a function (part of functionRoutes). */
export function secretRoutes(deps: SecretsDeps): Route[] {
  const { registry, deployer } = deps;

  const requireFunction = (raw: string): string => {
    const name = validateName(raw);
    if (registry.getFunction(name) === undefined)
      throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `no function named ${JSON.stringify(name)}`);
    return name;
  };

  return [
    {
      method: 'GET',
      path: '/v1/functions/{name}/secrets',
      handler: ({ res, params }) => {
        const name = requireFunction(params['name'] ?? '');
        sendJson(res, 200, { secrets: registry.listSecrets(name) } satisfies z.output<
          typeof secretListSchema
        >);
      },
    },
    {
      method: 'PUT',
      path: '/v1/functions/{name}/secrets/{secret}',
      handler: async ({ req, res, params }) => {
        const name = requireFunction(params['name'] ?? '');
        const secret = parseRequest(secretParams.shape.secret, params['secret'] ?? '');
        const body = await readBody(req, MAX_BODY_BYTES).catch((err: unknown) => {
          if (err instanceof SkiffError && err.code === 'SKIFF_E_PAYLOAD_TOO_LARGE') {
            throw invalid(`the secret value is longer than ${MAX_SECRET_VALUE_BYTES} bytes (64 KiB)`);
          }
          throw err;
        });
        const value = parseValue(body);
        // the function may have been deleted while the value was read
        requireFunction(name);
        const existing = registry.listSecrets(name);
        if (existing.length >= MAX_SECRETS_PER_FUNCTION && !existing.some((s) => s.name === secret)) {
          throw invalid(
            `${name} already has ${MAX_SECRETS_PER_FUNCTION} secrets, the most a function can have; delete one first`,
          );
        }
        registry.setSecret(name, secret, value);
        await deployer.restart(name);
        res.writeHead(204).end();
      },
    },
    {
      method: 'DELETE',
      path: '/v1/functions/{name}/secrets/{secret}',
      handler: async ({ res, params }) => {
        const name = requireFunction(params['name'] ?? '');
        const secret = parseRequest(secretParams.shape.secret, params['secret'] ?? '');
        if (!registry.deleteSecret(name, secret)) {
          throw new SkiffError(
            'SKIFF_E_SECRET_NOT_FOUND',
            `function ${name} has no secret named ${secret}; \`skiff secret list ${name}\` shows its secrets`,
          );
        }
        await deployer.restart(name);
        res.writeHead(204).end();
      },
    },
  ];
}
