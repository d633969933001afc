/**
 * What a runtime's parameters become in Skiff: the runtime (language) of its image, the environment
 * of its function, and how a load failure of its code is answered (upstream starts the runtime and
 * answers each execution 503; Skiff's deploy refuses code that cannot load, so the executor keeps the
 * failure and answers it).
 */
import type { SkiffError } from '../../shared/errors.js';
import { oprError } from './errors.js';
import type { LoadFailure } from './runtime-store.js';
import type { CreateParams } from './schemas.js';

/** Image → Skiff runtime (docs/compat/openruntimes.md has the table). */
const IMAGES: readonly [RegExp, 'node' | 'python'][] = [
  [/^(?:[\w.-]+\/)?openruntimes\/node:v\d+-[\w.-]+$/, 'node'],
  [/^(?:[\w.-]+\/)?openruntimes\/python:v\d+-[\w.-]+$/, 'python'],
];

export function languageOf(image: string): 'node' | 'python' {
  for (const [pattern, language] of IMAGES) if (pattern.test(image)) return language;
  throw oprError(
    'runtime_failed',
    `Image ${image} is not supported by this executor: use openruntimes/node:v5-<version> or openruntimes/python:v5-<version>.`,
  );
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_VARIABLES_BYTES = 128 * 1024;

/** The function's environment: the client's `variables`, then upstream's `OPEN_RUNTIMES_*` (they win). */
export function runtimeEnv(
  params: Pick<CreateParams, 'variables' | 'entrypoint' | 'cpus' | 'memory' | 'outputDirectory'>,
  secret: string,
  hostname: string,
): Record<string, string> {
  let bytes = 0;
  for (const [name, value] of Object.entries(params.variables)) {
    if (!VARIABLE_NAME.test(name)) {
      throw oprError(
        'execution_bad_request',
        `Invalid \`variables\` param: ${JSON.stringify(name.slice(0, 100))} is not a variable name (letters, digits and _).`,
      );
    }
    if (value.includes('\0')) {
      throw oprError(
        'execution_bad_request',
        `Invalid \`variables\` param: the value of ${name} has a NUL byte.`,
      );
    }
    bytes += name.length + value.length;
  }
  if (bytes > MAX_VARIABLES_BYTES) {
    throw oprError(
      'execution_bad_request',
      `Invalid \`variables\` param: more than ${MAX_VARIABLES_BYTES} bytes.`,
    );
  }
  return {
    ...params.variables,
    OPEN_RUNTIMES_SECRET: secret,
    OPEN_RUNTIMES_ENTRYPOINT: params.entrypoint,
    OPEN_RUNTIMES_HOSTNAME: hostname,
    OPEN_RUNTIMES_CPUS: String(params.cpus),
    OPEN_RUNTIMES_MEMORY: String(params.memory),
    ...(params.outputDirectory === '' ? {} : { OPEN_RUNTIMES_OUTPUT_DIRECTORY: params.outputDirectory }),
    CI: 'true',
  };
}

const NO_EXPORT = "Function signature invalid. Did you forget to export a 'main' function?";

/** The 503 upstream's runtime answers for code that cannot load, or null for another failure. */
export function loadFailure(error: SkiffError, entrypoint: string): LoadFailure | null {
  if (error.code === 'SKIFF_E_HANDLER_NOT_FOUND') {
    return { statusCode: 503, error: `Failed to load entrypoint, file ${entrypoint} does not exist.` };
  }
  if (error.code !== 'SKIFF_E_BUILD_FAILED' && error.code !== 'SKIFF_E_INSTANCE_START_FAILED') return null;
  const message = error.message;
  if (message.includes(NO_EXPORT)) return { statusCode: 503, error: NO_EXPORT };
  const detail = message.replace(/^version \d+ of \S+ failed to build: /, '');
  if (/SyntaxError|Syntax error|compil/i.test(message)) {
    return { statusCode: 503, error: `Syntax error in ${entrypoint}: ${detail}` };
  }
  return { statusCode: 503, error: `Failed to load module: ${detail}` };
}

/**
 * Upstream's `OPEN_RUNTIMES_BUILD_KEYS` in a build's environment: the names of the client's
 * `variables`, comma-separated (the executor's own `OPEN_RUNTIMES_*` settings left out), so a build
 * can tell the user's variables from the runtime's.
 */
export function buildKeys(variables: Record<string, string>): string {
  return Object.keys(variables)
    .filter((name) => !name.startsWith('OPEN_RUNTIMES_'))
    .join(',');
}
