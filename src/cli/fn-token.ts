/**
 * `skiff fn token <name>`: makes a token for a private function (skiff.json `access.private`), or with
 * `--revoke` makes every function-scoped token of it stop working. The token alone goes to stdout, so
 * `curl -H "X-Auth-Token: $(skiff fn token hello)" …` works.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { SkiffClient } from './client.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { printJson } from './output.js';

const UNIT_SEC: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `15m`, `12h` or `30d` as seconds (commander argParser). */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  const sec = match === null ? NaN : Number(match[1]) * (UNIT_SEC[match[2] || 's'] ?? NaN);
  if (!Number.isSafeInteger(sec) || sec <= 0) {
    throw new InvalidArgumentError('expected a duration such as 3600, 90s, 15m, 12h or 30d');
  }
  return sec;
}

interface TokenOptions {
  scope: string;
  expires?: number;
  revoke?: boolean;
}

export function registerFnToken(fn: Command): void {
  withExamples(
    fn
      .command('token')
      .description('make a token to invoke a private function (X-Auth-Token), or revoke its tokens')
      .argument('<name>', 'function name')
      .option(
        '--scope <scope>',
        'function: this function only; namespace: every private function of the platform',
        'function',
      )
      .option(
        '--expires <duration>',
        'expire after this long (3600, 90s, 15m, 12h, 30d; default: never)',
        parseDuration,
      )
      .option('--revoke', 'revoke every function-scoped token made for it so far (makes no token)')
      .action((name: string, opts: TokenOptions, cmd: Command) => token(name, opts, cmd)),
    'skiff fn token hello',
    'skiff fn token hello --expires 12h',
    'curl -H "X-Auth-Token: $(skiff fn token hello)" http://127.0.0.1:8000/hello',
    'skiff fn token hello --revoke',
  );
}

async function token(name: string, opts: TokenOptions, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const base = `/v1/functions/${encodeURIComponent(name)}/tokens`;
  const client = new SkiffClient(target);
  if (opts.revoke === true) {
    if (opts.expires !== undefined)
      throw usageError('--revoke makes no token: leave out --expires', 'skiff fn token');
    const { body } = await client.api<{ function: string; revoked: boolean }>('POST', `${base}/revoke`);
    if (json) printJson(body);
    else console.log(`✔ Revoked every function-scoped token of ${name}; namespace-scoped tokens still work`);
    return;
  }
  if (opts.scope !== 'function' && opts.scope !== 'namespace') {
    throw usageError(`--scope is function or namespace, not ${JSON.stringify(opts.scope)}`, 'skiff fn token');
  }
  const request = {
    scope: opts.scope,
    ...(opts.expires === undefined ? {} : { expiresInSec: opts.expires }),
  };
  const { body } = await client.api<{ token: string; expiresAt: string | null }>('POST', base, {
    body: Buffer.from(JSON.stringify(request)),
    headers: { 'content-type': 'application/json' },
  });
  if (json) printJson(body);
  else console.log(body.token);
}
