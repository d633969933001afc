/** `skiff fn scale`: change how a function scales without a redeploy, and the scaling flags of deploy. */
import { InvalidArgumentError, type Command } from 'commander';
import { SkiffClient } from './client.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { printJson, renderKeyValue } from './output.js';

/** Flag → API field, shared by `fn scale` and `fn deploy`. */
export const SCALING_FLAGS = [
  ['--min <n>', 'minInstances', 'instances kept running (0: scale to zero)'],
  ['--max <n>', 'maxInstances', 'instances at most'],
  ['--concurrency <n>', 'concurrency', 'invocations one instance serves at once'],
  ['--max-queue <n>', 'maxQueue', 'invocations that may wait for a slot (then 429)'],
  ['--queue-wait <ms>', 'maxQueueWaitMs', 'how long an invocation may wait for a slot (then 503)'],
  ['--idle <ms>', 'idleTimeoutMs', 'stop an instance idle this long, down to --min'],
] as const;

type Field = (typeof SCALING_FLAGS)[number][1];
export type ScalingFlags = Partial<Record<string, number>>;

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError('expected a whole number');
  }
  return n;
}

/** Adds the scaling flags to a command. */
export function withScalingFlags(cmd: Command): Command {
  for (const [flag, , description] of SCALING_FLAGS) cmd.option(flag, description, wholeNumber);
  return cmd;
}

/** The API fields of the scaling flags that were given. */
export function scalingFromFlags(opts: Record<string, unknown>): Partial<Record<Field, number>> {
  const out: Partial<Record<Field, number>> = {};
  for (const [flag, field] of SCALING_FLAGS) {
    const key = flag
      .slice(2)
      .split(' ')[0]
      ?.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const value = key === undefined ? undefined : opts[key];
    if (typeof value === 'number') out[field] = value;
  }
  return out;
}

interface ScalingResult {
  scaling: Record<Field, number>;
  override: Partial<Record<Field, number>> | null;
}

export function registerScale(fn: Command): void {
  withExamples(
    withScalingFlags(
      fn
        .command('scale')
        .description(
          'change how a function scales, at once and without a redeploy (kept across redeploys; --reset drops it)',
        )
        .argument('<name>', 'function name'),
    )
      .option('--reset', 'remove what `fn scale` set: back to skiff.json and the platform defaults')
      .action((name: string, opts: Record<string, unknown>, cmd: Command) => scale(name, opts, cmd)),
    'skiff fn scale hello --min 1 --max 4 --concurrency 10',
    'skiff fn scale hello --idle 60000',
    'skiff fn scale hello --reset',
  );
}

async function scale(name: string, opts: Record<string, unknown>, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const patch = scalingFromFlags(opts);
  const reset = opts['reset'] === true;
  if (!reset && Object.keys(patch).length === 0) {
    throw usageError(
      'give at least one of --min, --max, --concurrency, --max-queue, --queue-wait, --idle, or --reset',
      'skiff fn scale',
    );
  }
  if (reset && Object.keys(patch).length > 0) {
    throw usageError('--reset takes no other scaling flag', 'skiff fn scale');
  }
  const client = new SkiffClient(target);
  const route = `/v1/functions/${encodeURIComponent(name)}/scaling`;
  const { body } = reset
    ? await client.api<ScalingResult>('DELETE', route)
    : await client.api<ScalingResult>('PATCH', route, {
        body: Buffer.from(JSON.stringify(patch)),
        headers: { 'content-type': 'application/json' },
      });
  if (json) {
    printJson(body);
    return;
  }
  console.log(`✔ Scaling of ${name} ${reset ? 'reset' : 'updated'}`);
  console.log(renderScaling(body.scaling, body.override));
}

/** The scaling block of `fn scale` and `fn get`: each setting, marked when `fn scale` set it. */
export function renderScaling(
  scaling: Partial<Record<Field, number>>,
  override: Partial<Record<Field, number>> | null,
): string {
  return renderKeyValue(
    SCALING_FLAGS.map(([flag, field]) => [
      `${field} (${flag.split(' ')[0] ?? ''})`,
      `${scaling[field] ?? '-'}${override?.[field] === undefined ? '' : '  (set by fn scale)'}`,
    ]),
  );
}
