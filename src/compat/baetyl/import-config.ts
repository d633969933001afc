/**
 * A Baetyl 1.0 function-manager configuration or an OpenEdge 0.1.x `module.yml`, turned into Skiff
 * functions and MQTT rules with upstream's defaults and checks (docs/compat/baetyl/import.md). Pure:
 * it reads texts and returns a plan; import-runtime.ts decides each function's language from its code
 * and import-apply.ts deploys the plan.
 */
import { NAME_PATTERN } from '../../model/spec.js';
import { SkiffError } from '../../shared/errors.js';
import { parseYamlFile, Reader, type Doc } from './import-read.js';
import { SERVICE_NAME } from './services.js';
import { hubOf, loopWarning, readRules } from './import-rules.js';
import type {
  ConfigFile,
  ImportFormat,
  ImportInput,
  ImportPlan,
  PlannedFunction,
  PlatformFacts,
} from './import-types.js';
import { parseGoDuration, parseMemory } from './units.js';

export type * from './import-types.js';
export { brokerKey } from './import-rules.js';

const BAETYL_NAME = /^[a-zA-Z0-9_-]{1,140}$/;
const MiB = 1024 * 1024;
/** Functions one import deploys at most. */
const MAX_FUNCTIONS = 100;
/** Upstream's `message.length.max` when a function names none. */
const DEFAULT_MESSAGE_BYTES = 4 * MiB;

/** Tells the format from the keys: rules with `compute` are 0.1.x, with `function` 1.0. */
export function detectFormat(doc: Doc): ImportFormat {
  const rules = Array.isArray(doc['rules']) ? (doc['rules'] as unknown[]) : [];
  const has = (list: unknown[], key: string): boolean =>
    list.some((item) => typeof item === 'object' && item !== null && key in item);
  if (has(rules, 'compute')) return 'openedge';
  if (has(rules, 'function')) return 'baetyl';
  const functions = Array.isArray(doc['functions']) ? (doc['functions'] as unknown[]) : [];
  if (has(functions, 'service')) return 'baetyl';
  if (has(functions, 'runtime') || has(functions, 'entry')) return 'openedge';
  return 'baetyl';
}

/** A runtime key (or 0.1.x `entry` image) → Skiff's language; Python 2 and others are refused. */
export function runtimeOfKey(r: Reader, raw: string, where: string): 'python' | 'node' | undefined {
  if (raw === '') return undefined;
  const key = raw.toLowerCase();
  if (/python2/.test(key)) {
    r.fail(
      where,
      `${JSON.stringify(raw)}: Python 2 is not supported by Skiff; port the function to Python 3`,
    );
  }
  if (/python3|^python$|py3/.test(key)) return 'python';
  if (/node|^js$/.test(key)) return 'node';
  if (key.includes('/') || key.includes(':')) return undefined; // an image without a language in its name
  return r.fail(
    where,
    `${JSON.stringify(raw)} is not a runtime Skiff runs: use python3 (python36) or nodejs (node85)`,
  );
}

/** A duration key in ms: `fallback` when absent; refused when not more than 0. */
function duration(r: Reader, value: unknown, where: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const parsed = parseGoDuration(value);
  if (!parsed.ok) return r.fail(where, parsed.reason);
  if (parsed.value <= 0) return r.fail(where, 'must be longer than 0');
  return Math.max(1, Math.round(parsed.value));
}

/** `codedir` as a folder relative to the base: `/` at the start is the base, `..` is refused. */
function codedirOf(r: Reader, raw: string, where: string): string {
  const parts = raw.split(/[/\\]+/).filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) r.fail(where, `${JSON.stringify(raw)} goes outside the imported folder`);
  return parts.join('/');
}

/** The Baetyl name, checked by upstream's rule and then by Skiff's (no silent renaming). */
function functionName(r: Reader, value: unknown, where: string): string {
  const name = r.required(value, where);
  if (!BAETYL_NAME.test(name)) {
    r.fail(where, `${JSON.stringify(name)} is not a function name: use 1-140 letters, digits, _ and -`);
  }
  if (!NAME_PATTERN.test(name)) {
    const hint = name.toLowerCase().replace(/_/g, '-').replace(/^-+/, '').slice(0, 63);
    r.fail(
      where,
      `${JSON.stringify(name)} is a valid Baetyl name but Skiff function names are 1-63 lower-case letters, digits and dashes, starting with a letter or digit: rename it (e.g. ${JSON.stringify(hint || 'fn')}) here and in the rules that name it`,
    );
  }
  return name;
}

interface Common {
  name: string;
  min: number;
  max: number;
  idleTimeoutMs: number;
}

/** `instance.min`, `max`, `idletime` (both generations). */
function instance(r: Reader, raw: Doc, where: string, name: string): Common {
  const min = r.int(raw['min'], `${where}.min`, 0, 100, 0);
  const max = r.int(raw['max'], `${where}.max`, 1, 100, 1);
  if (min > max) r.fail(`${where}.min`, `${min} is above instance.max (${max})`);
  const idleTimeoutMs = duration(r, raw['idletime'], `${where}.idletime`, 10 * 60_000);
  if (idleTimeoutMs < 100 || idleTimeoutMs > 24 * 3_600_000) {
    r.fail(`${where}.idletime`, 'Skiff stops idle instances after 100ms to 24h: use a value in that range');
  }
  if (raw['evicttime'] !== undefined) duration(r, raw['evicttime'], `${where}.evicttime`, 60_000);
  return { name, min, max, idleTimeoutMs };
}

/**
 * `message.length.max` (bytes, upstream's default 4 MiB): the largest message the function's rules
 * pass on (their `maxPayloadBytes`); the gRPC services have the platform's one limit.
 */
function messageMax(r: Reader, raw: unknown, where: string): number {
  const value = r.map(r.map(raw, where)['length'], `${where}.length`)['max'];
  if (value === undefined || value === null) return DEFAULT_MESSAGE_BYTES;
  const parsed = parseMemory(value);
  if (!parsed.ok) r.fail(`${where}.length.max`, parsed.reason);
  if (parsed.value < 1) r.fail(`${where}.length.max`, 'must be at least 1 byte');
  return parsed.value;
}

/** The runtime files' `functions[]{name, handler, codedir}` by name (1.0). */
function runtimeFunctions(
  files: readonly ConfigFile[],
): Map<string, { doc: Doc; reader: Reader; where: string }> {
  const out = new Map<string, { doc: Doc; reader: Reader; where: string }>();
  for (const file of files) {
    const reader = new Reader(file.name);
    reader.list(parseYamlFile(file.name, file.text)['functions'], 'functions').forEach((doc, i) => {
      const where = `functions[${i}]`;
      const name = reader.required(doc['name'], `${where}.name`);
      if (out.has(name)) reader.fail(`${where}.name`, `function ${JSON.stringify(name)} is given twice`);
      out.set(name, { doc, reader, where });
    });
  }
  return out;
}

/** Lowers `max` (and `min`) to the platform's ceiling, with a warning. */
function scalingOf(
  common: Common,
  where: string,
  facts: PlatformFacts,
  warnings: string[],
): PlannedFunction['scaling'] {
  let { min, max } = common;
  if (max > facts.maxInstancesCeiling) {
    warnings.push(
      `${where}.max: ${max} is lowered to ${facts.maxInstancesCeiling}, the platform's functions.maxInstancesCeiling`,
    );
    max = facts.maxInstancesCeiling;
    min = Math.min(min, max);
  }
  return { minInstances: min, maxInstances: max, idleTimeoutMs: common.idleTimeoutMs, concurrency: 1 };
}

function checkTimeout(timeoutMs: number, where: string, facts: PlatformFacts, warnings: string[]): void {
  if (timeoutMs > facts.maxTimeoutMs) {
    warnings.push(
      `${where}: ${timeoutMs} ms is longer than the platform's functions.maxTimeoutMs (${facts.maxTimeoutMs} ms), which calls get instead`,
    );
  }
}

/** 1.0: `functions[]{name, service, instance, timeout, message, backoff}` plus the runtime's handler and codedir. */
function baetylFunctions(
  r: Reader,
  doc: Doc,
  input: ImportInput,
  facts: PlatformFacts,
  warnings: string[],
): PlannedFunction[] {
  const runtimes = runtimeFunctions(input.runtimeConfigs ?? []);
  const used = new Set<string>();
  const out = r.list(doc['functions'], 'functions').map((fn, i): PlannedFunction => {
    const where = `functions[${i}]`;
    const name = functionName(r, fn['name'], `${where}.name`);
    const service = r.required(fn['service'], `${where}.service`);
    if (!SERVICE_NAME.test(service)) {
      r.fail(
        `${where}.service`,
        `${JSON.stringify(service.slice(0, 80))} is not a service name Skiff records: use 1-253 letters, digits, dots, dashes and underscores, starting with a letter or digit`,
      );
    }
    const common = instance(r, r.map(fn['instance'], `${where}.instance`), `${where}.instance`, name);
    const timeoutMs = duration(r, fn['timeout'], `${where}.timeout`, 30_000);
    checkTimeout(timeoutMs, `${where}.timeout`, facts, warnings);
    const maxMessageBytes = messageMax(r, fn['message'], `${where}.message`);
    if (r.map(fn['backoff'], `${where}.backoff`)['max'] !== undefined) {
      duration(r, r.map(fn['backoff'], `${where}.backoff`)['max'], `${where}.backoff.max`, 60_000);
    }
    // the runtime's entry (a second file) fills what the manager's entry leaves out
    const own = runtimes.get(name);
    if (own !== undefined) used.add(name);
    const pick = (key: string): { value: unknown; reader: Reader; where: string } =>
      fn[key] !== undefined || own === undefined
        ? { value: fn[key], reader: r, where: `${where}.${key}` }
        : { value: own.doc[key], reader: own.reader, where: `${own.where}.${key}` };
    const handler = pick('handler');
    const codedir = pick('codedir');
    const runtime = pick('runtime');
    const env = pick('env');
    const handlerText = handler.reader.text(handler.value, handler.where);
    if (handlerText === '') {
      r.fail(
        `${where}`,
        `function ${JSON.stringify(name)} has no handler: give handler and codedir in this entry or in the runtime's configuration file (${service}'s functions[])`,
      );
    }
    const key = runtime.reader.text(runtime.value, runtime.where);
    const lang = runtimeOfKey(runtime.reader, key, runtime.where);
    return {
      name,
      service,
      handler: handlerText,
      codedir: codedirOf(codedir.reader, codedir.reader.text(codedir.value, codedir.where), codedir.where),
      ...(lang === undefined ? {} : { runtime: lang }),
      env: env.reader.env(env.value, env.where),
      scaling: scalingOf(common, `${where}.instance`, facts, warnings),
      timeoutMs,
      maxMessageBytes,
      mqtt: [],
    };
  });
  for (const name of runtimes.keys()) {
    if (!used.has(name)) {
      warnings.push(
        `the runtime's function ${JSON.stringify(name)} is not in the manager's functions: not imported`,
      );
    }
  }
  return out;
}

/** 0.1.x: `functions[]{name, runtime, handler, codedir, entry, env, instance{…, timeout, cpu, memory}}`. */
function openedgeFunctions(r: Reader, doc: Doc, facts: PlatformFacts, warnings: string[]): PlannedFunction[] {
  return r.list(doc['functions'], 'functions').map((fn, i): PlannedFunction => {
    const where = `functions[${i}]`;
    const name = functionName(r, fn['name'], `${where}.name`);
    const raw = r.map(fn['instance'], `${where}.instance`);
    const common = instance(r, raw, `${where}.instance`, name);
    const timeoutMs = duration(r, raw['timeout'], `${where}.instance.timeout`, 5 * 60_000);
    checkTimeout(timeoutMs, `${where}.instance.timeout`, facts, warnings);
    const maxMessageBytes = messageMax(r, raw['message'], `${where}.instance.message`);
    const lang =
      runtimeOfKey(r, r.text(fn['runtime'], `${where}.runtime`), `${where}.runtime`) ??
      runtimeOfKey(r, r.text(fn['entry'], `${where}.entry`), `${where}.entry`);
    const limits: NonNullable<PlannedFunction['limits']> = {};
    const cpus = r.map(raw['cpu'], `${where}.instance.cpu`)['cpus'];
    if (cpus !== undefined && cpus !== null && cpus !== 0) {
      if (typeof cpus !== 'number' || cpus < 0.05 || cpus > 64) {
        r.fail(`${where}.instance.cpu.cpus`, 'must be a number of CPUs from 0.05 to 64');
      }
      limits.cpus = cpus;
    }
    const memory = r.map(raw['memory'], `${where}.instance.memory`)['limit'];
    if (memory !== undefined && memory !== null && memory !== 0 && memory !== '') {
      const parsed = parseMemory(memory);
      if (!parsed.ok) r.fail(`${where}.instance.memory.limit`, parsed.reason);
      const mb = Math.ceil(parsed.value / MiB);
      if (mb < 32)
        r.fail(`${where}.instance.memory.limit`, `${JSON.stringify(memory)} is below Skiff's least, 32m`);
      limits.memoryMb = mb;
    }
    const pids = r.map(raw['pids'], `${where}.instance.pids`)['limit'];
    if (pids !== undefined && pids !== null && pids !== 0) {
      limits.pids = r.int(pids, `${where}.instance.pids.limit`, 1, 1_000_000, 0);
    }
    return {
      name,
      handler: r.required(fn['handler'], `${where}.handler`),
      codedir: codedirOf(r, r.text(fn['codedir'], `${where}.codedir`), `${where}.codedir`),
      ...(lang === undefined ? {} : { runtime: lang }),
      env: r.env(fn['env'], `${where}.env`),
      scaling: scalingOf(common, `${where}.instance`, facts, warnings),
      timeoutMs,
      ...(Object.keys(limits).length === 0 ? {} : { limits }),
      maxMessageBytes,
      mqtt: [],
    };
  });
}

/** Reads the configuration (and 1.0 runtime files) into the plan, or refuses with the file and key named. */
export function planImport(input: ImportInput, facts: PlatformFacts): ImportPlan {
  const doc = parseYamlFile(input.config.name, input.config.text);
  const r = new Reader(input.config.name);
  const format = input.format ?? detectFormat(doc);
  const warnings: string[] = [];
  if (format === 'openedge' && (input.runtimeConfigs?.length ?? 0) > 0) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      'runtime configuration files are for Baetyl 1.0 managers; a 0.1.x module.yml names handler and codedir itself',
    );
  }
  const functions =
    format === 'baetyl'
      ? baetylFunctions(r, doc, input, facts, warnings)
      : openedgeFunctions(r, doc, facts, warnings);
  if (functions.length > MAX_FUNCTIONS) {
    r.fail('functions', `${functions.length} functions; one import takes at most ${MAX_FUNCTIONS}`);
  }
  const names = new Set<string>();
  functions.forEach((fn, i) => {
    if (names.has(fn.name))
      r.fail(`functions[${i}].name`, `function ${JSON.stringify(fn.name)} is given twice`);
    names.add(fn.name);
  });
  const rules = readRules(r, doc, format, names, warnings);
  for (const fn of functions) {
    fn.mqtt = (rules.get(fn.name) ?? []).map((rule) => ({ ...rule, maxPayloadBytes: fn.maxMessageBytes }));
    if (fn.mqtt.length > 32)
      r.fail('rules', `function ${JSON.stringify(fn.name)} has ${fn.mqtt.length} rules; Skiff takes 32`);
  }
  // a Map, not an object: a service may be named `constructor` or `toString`
  const byService = new Map<string, string[]>();
  for (const fn of functions) {
    if (fn.service !== undefined) byService.set(fn.service, [...(byService.get(fn.service) ?? []), fn.name]);
  }
  const services: Record<string, string[]> = Object.fromEntries(byService);
  const loop = loopWarning(functions);
  if (loop !== undefined) warnings.push(loop);
  const hub = hubOf(r, doc, facts, warnings);
  return { format, functions, services, ...(hub === undefined ? {} : { hub }), warnings };
}
