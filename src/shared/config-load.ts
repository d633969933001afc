/** Reads the configuration once: defaults < file < environment < flags, validated by one schema. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configSchemaWith, type Config } from './config.js';
import type { ConfigSection } from './config-section.js';
import { SkiffError } from './errors.js';

/** Environment variables the platform reads, each mapped to a config path. */
export const ENV_VARS: Record<string, { path: string[]; type: 'string' | 'int' }> = {
  SKIFF_HOME: { path: ['dataDir'], type: 'string' },
  SKIFF_LOG_LEVEL: { path: ['logLevel'], type: 'string' },
  SKIFF_LOG_FORMAT: { path: ['logFormat'], type: 'string' },
  SKIFF_CONTROL_HOST: { path: ['control', 'host'], type: 'string' },
  SKIFF_CONTROL_PORT: { path: ['control', 'port'], type: 'int' },
  SKIFF_METRICS_TOKEN: { path: ['control', 'metricsToken'], type: 'string' },
  SKIFF_HTTP_HOST: { path: ['http', 'host'], type: 'string' },
  SKIFF_HTTP_PORT: { path: ['http', 'port'], type: 'int' },
  SKIFF_MAX_BODY_BYTES: { path: ['http', 'maxBodyBytes'], type: 'int' },
  SKIFF_SANDBOX: { path: ['sandbox', 'mode'], type: 'string' },
  SKIFF_GRPC_PORT: { path: ['grpc', 'port'], type: 'int' },
  SKIFF_COAP_PORT: { path: ['coap', 'port'], type: 'int' },
  SKIFF_MQTT_PORT: { path: ['mqtt', 'broker', 'port'], type: 'int' },
  SKIFF_MQTT_URL: { path: ['mqtt', 'url'], type: 'string' },
};

type Tree = Record<string, unknown>;

function setPath(target: Tree, keys: string[], value: unknown): void {
  let node = target;
  keys.slice(0, -1).forEach((key) => {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Tree;
  });
  const last = keys[keys.length - 1];
  if (last !== undefined) node[last] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    const bothObjects =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof prev === 'object';
    out[key] = bothObjects && prev !== null ? merge(prev as Tree, value as Tree) : value;
  }
  return out;
}

function fromEnv(env: NodeJS.ProcessEnv): Tree {
  const out: Tree = {};
  for (const [name, spec] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = spec.type === 'int' ? Number(raw) : raw;
    if (spec.type === 'int' && !Number.isInteger(value)) {
      throw new SkiffError('SKIFF_E_CONFIG_INVALID', `${name}=${raw} is not a whole number`);
    }
    setPath(out, spec.path, value);
  }
  return out;
}

function fromFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `cannot read config file ${file}: ${(err as Error).message}`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Tree;
  } catch (err) {
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `config file ${file} is not a JSON object: ${(err as Error).message}`,
    );
  }
}

export interface ConfigSources {
  /** `--config`; otherwise `skiff.config.json` in `cwd` is read when it exists. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values from flags, already shaped like the config. */
  flags?: Tree;
  cwd?: string;
}

/**
 * Reads the configuration once: defaults < file < environment < flags, validated by one schema.
 * `sections` are the `compat.<name>` sections the composition root knows (server.ts loadPlatformConfig).
 */
export function loadConfig(
  sources: ConfigSources = {},
  sections: Readonly<Record<string, ConfigSection>> = {},
): Config {
  const cwd = sources.cwd ?? process.cwd();
  const defaultFile = path.join(cwd, 'skiff.config.json');
  const file = sources.file ?? (existsSync(defaultFile) ? defaultFile : undefined);
  let tree: Tree = file === undefined ? {} : fromFile(path.resolve(cwd, file));
  tree = merge(tree, fromEnv(sources.env ?? process.env));
  tree = merge(tree, sources.flags ?? {});
  const schemas = Object.fromEntries(Object.entries(sections).map(([name, s]) => [name, s.schema]));
  const result = configSchemaWith(schemas).safeParse(tree);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.join('.') || '(root)';
      const keys = issue.code === 'unrecognized_keys' ? ` ${issue.keys.join(', ')}` : '';
      return `${where}:${keys} ${issue.message}`;
    });
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `invalid configuration${file ? ` (${file})` : ''}: ${problems.join('; ')}`,
    );
  }
  const config = result.data;
  for (const section of Object.values(sections)) section.fromEnv?.(config, sources.env ?? process.env);
  return { ...config, dataDir: path.resolve(cwd, config.dataDir) };
}
