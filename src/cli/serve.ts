import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DIALECT_FLAGS as FLAGS_BY_DIALECT } from '../compat/flags.js';
import { toSkiffError } from '../shared/errors.js';
import { globalOptions, parsePositiveInt, withExamples } from './options.js';
import { readSpecName } from './spec-name.js';

interface ServeOptions {
  config?: string;
  controlHost?: string;
  controlPort?: number;
  httpHost?: string;
  httpPort?: number;
  logLevel?: string;
  logFormat?: string;
  deploy?: string[];
  sandbox?: string;
  insecureNoSandbox?: boolean;
  grpcPort?: number;
  coapPort?: number;
  mqttPort?: number;
  mqttUrl?: string;
  listeners?: Set<string>;
  /** The dialects' flags (src/compat/), by commander's attribute name. */
  [dialectFlag: string]: unknown;
}

/** Each dialect's flags as commander options, with the dialect and the section field each sets. */
const DIALECT_FLAGS = Object.entries(FLAGS_BY_DIALECT).flatMap(([name, flags]) =>
  flags.map((flag) => ({
    dialect: name,
    sets: flag.sets,
    option: new Option(flag.flag, flag.description),
  })),
);

/** The listeners `--listeners` chooses among (the control API and the gateway always listen). */
const OPTIONAL_LISTENERS = ['grpc', 'coap', 'mqtt'] as const;

function parseListeners(value: string): Set<string> {
  const names = value
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  if (names.length === 1 && names[0] === 'none') return new Set();
  for (const name of names) {
    if (!(OPTIONAL_LISTENERS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        `'${name}' is not an optional listener: use ${OPTIONAL_LISTENERS.join(', ')} or none`,
      );
    }
  }
  return new Set(names);
}

const parsePort = (flag: string) => (value: string) => (value === '0' ? 0 : parsePositiveInt(flag)(value));

function flagsToConfig(opts: ServeOptions, dataDir: string | undefined): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  const control: Record<string, unknown> = {};
  const http: Record<string, unknown> = {};
  if (dataDir !== undefined) flags['dataDir'] = dataDir;
  if (opts.logLevel !== undefined) flags['logLevel'] = opts.logLevel;
  if (opts.logFormat !== undefined) flags['logFormat'] = opts.logFormat;
  if (opts.controlHost !== undefined) control['host'] = opts.controlHost;
  if (opts.controlPort !== undefined) control['port'] = opts.controlPort;
  if (opts.httpHost !== undefined) http['host'] = opts.httpHost;
  if (opts.httpPort !== undefined) http['port'] = opts.httpPort;
  const sandbox: Record<string, unknown> = {};
  if (opts.sandbox !== undefined) sandbox['mode'] = opts.sandbox;
  if (opts.insecureNoSandbox === true) sandbox['insecureNoSandbox'] = true;
  if (Object.keys(sandbox).length > 0) flags['sandbox'] = sandbox;
  const on = (name: string) => (opts.listeners === undefined ? {} : { enabled: opts.listeners.has(name) });
  if (opts.grpcPort !== undefined || opts.listeners !== undefined)
    flags['grpc'] = { ...on('grpc'), ...(opts.grpcPort === undefined ? {} : { port: opts.grpcPort }) };
  if (opts.coapPort !== undefined || opts.listeners !== undefined)
    flags['coap'] = { ...on('coap'), ...(opts.coapPort === undefined ? {} : { port: opts.coapPort }) };
  const mqtt: Record<string, unknown> = opts.mqttUrl === undefined ? on('mqtt') : {};
  if (opts.mqttPort !== undefined) mqtt['broker'] = { port: opts.mqttPort };
  if (opts.mqttUrl !== undefined) mqtt['url'] = opts.mqttUrl;
  if (Object.keys(mqtt).length > 0) flags['mqtt'] = mqtt;
  const compat: Record<string, Record<string, unknown>> = {};
  for (const { dialect, sets, option } of DIALECT_FLAGS) {
    if (opts[option.attributeName()] === true) (compat[dialect] ??= {})[sets] = true;
  }
  if (Object.keys(compat).length > 0) flags['compat'] = compat;
  if (Object.keys(control).length > 0) flags['control'] = control;
  if (Object.keys(http).length > 0) flags['http'] = http;
  return flags;
}

async function serve(opts: ServeOptions, cmd: Command): Promise<void> {
  // before anything is written: the platform's files are its own (startServer sets it again)
  process.umask(0o077);
  // Loaded here, so that the other commands (plain HTTP clients) do not load the platform.
  const [
    { createLogger },
    { humanStream },
    { loadPlatformConfig, startServer },
    { packDirectory },
    { deployIgnore },
  ] = await Promise.all([
    import('../shared/logger.js'),
    import('../shared/log-human.js'),
    import('../server.js'),
    import('../store/archive/pack.js'),
    import('../store/archive/skiffignore.js'),
  ]);
  const { dataDir } = globalOptions(cmd);
  const config = loadPlatformConfig({ file: opts.config, flags: flagsToConfig(opts, dataDir) });
  // The platform log goes to stderr (JSON lines, or text on a terminal); stdout carries the lines
  // meant for people.
  const human =
    config.logFormat === 'human' || (config.logFormat === 'auto' && process.stderr.isTTY === true);
  const logger = human
    ? createLogger(config.logLevel, humanStream(process.stderr, process.stderr.hasColors?.() === true))
    : createLogger(config.logLevel, 2);
  const server = await startServer(config, logger);
  console.log(`Skiff is up (data dir ${config.dataDir})`);
  const width = Math.max(8, ...Object.keys(server.endpoints).map((name) => name.length));
  for (const [name, url] of Object.entries(server.endpoints)) console.log(`  ${name.padEnd(width)} ${url}`);
  console.log(`  ${server.isolation}`);
  for (const note of server.notes) console.log(`  ${note}`);

  for (const dir of opts.deploy ?? []) {
    try {
      // as `skiff fn deploy` names it: skiff.json's name, else the folder's
      const name = (await readSpecName(path.resolve(dir))) ?? path.basename(path.resolve(dir)).toLowerCase();
      const { exclude } = await deployIgnore(path.resolve(dir));
      const archive = await packDirectory(path.resolve(dir), { exclude });
      const { version } = await server.deployer.deploy({ name, archive, mode: 'upsert' });
      console.log(`Deployed ${name} version ${version.version}; call it with:`);
      console.log(`  curl ${server.endpoints['http']}/${name}`);
    } catch (err) {
      const e = toSkiffError(err);
      console.error(`✖ could not deploy ${dir}: ${e.message} (${e.code})`);
    }
  }
  console.log('Press Ctrl+C to stop.');

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      console.log(`\n${signal} received: finishing in-flight work and stopping…`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      void server.stop().then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  console.log('Skiff stopped.');
  // Every server, instance and store is closed; idle timers of client libraries (CoAP agents, MQTT)
  // would keep the process up for seconds more, and a supervisor expects it gone within about a second.
  process.exit(process.exitCode ?? 0);
}

/** `skiff serve`: the whole platform in one process. */
export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('start the platform: control API, HTTP gateway and executor, on embedded defaults')
    .option('--config <file>', 'configuration file (default: ./skiff.config.json when present)')
    .option('--control-host <host>', 'control API address (default localhost: 127.0.0.1 and ::1)')
    .option(
      '--control-port <port>',
      'control API port, 0 picks a free one (default 8080)',
      parsePort('--control-port'),
    )
    .option('--http-host <host>', 'HTTP gateway address (default ::, IPv6 and IPv4)')
    .option(
      '--http-port <port>',
      'HTTP gateway port, 0 picks a free one (default 8000)',
      parsePort('--http-port'),
    )
    .option(
      '--grpc-port <port>',
      'gRPC trigger port, 0 picks a free one (default 9000)',
      parsePort('--grpc-port'),
    )
    .option(
      '--coap-port <port>',
      'CoAP trigger UDP port, 0 picks a free one (default 5683)',
      parsePort('--coap-port'),
    )
    .option(
      '--mqtt-port <port>',
      'embedded MQTT broker port, 0 picks a free one (default 1883)',
      parsePort('--mqtt-port'),
    )
    .option('--mqtt-url <url>', 'use this external MQTT broker instead of the embedded one')
    .option(
      '--listeners <names>',
      `the optional listeners to start, comma-separated: ${OPTIONAL_LISTENERS.join(', ')}, or none (default: all; the control API and the HTTP gateway always listen)`,
      parseListeners,
    );
  // the compatibility APIs' flags (src/compat/<platform>/index.ts `flags`)
  for (const { option } of DIALECT_FLAGS) cmd.addOption(option);
  cmd
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option(
      '--log-format <format>',
      'the platform log on stderr: auto (text on a terminal, else JSON lines), json or human (default auto)',
    )
    .option(
      '--deploy <dir...>',
      'deploy these function folders once the platform is up (named by skiff.json "name", else the folder)',
    )
    .option('--sandbox <mode>', 'auto (default), bubblewrap or none: how function instances are isolated')
    .option(
      '--insecure-no-sandbox',
      'with --sandbox auto: run functions as plain processes when bubblewrap does not work, rather than refuse to start',
    )
    .action(serve);
  withExamples(
    cmd,
    'skiff serve',
    'skiff serve --http-port 0 --control-port 0 --data-dir /tmp/skiff',
    'skiff serve --deploy examples/hello',
    'skiff serve --listeners none          # only the control API and the HTTP gateway',
  );
}
