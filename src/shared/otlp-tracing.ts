/**
 * Optional OTLP export of invocations as spans (docs/operations.md). Off unless the `OTEL_*`
 * variables ask for it; then the SDK module is loaded (a dynamic import, never when off) and
 * subscribes to the executor's channel of invocation spans. The executor publishes only while someone
 * subscribes: with tracing off, an invocation costs one boolean check.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Logger } from './logger.js';
import { INVOCATION_SPAN_CHANNEL, type InvocationSpan } from '../model/trace.js';
import { otlpChoice, shownEndpoint, type OtlpSettings } from './otlp-settings.js';
import type { SpanSink } from './otlp-sdk.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from './paths.js';

/** The version in Skiff's package.json (`service.version` of the spans), or `unknown`. */
function skiffVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface RunningTracing {
  /** Exports the spans waiting (bounded by the exporter's timeout) and stops. */
  stop(): Promise<void>;
}

/** The longest a graceful stop waits for the last spans to be exported. */
const STOP_WAIT_MS = 5000;

/** Makes the span sink: the SDK module, imported only here. Replaceable for a test of the choice. */
export type SinkFactory = (
  settings: OtlpSettings,
  version: string,
  report: (problem: string) => void,
) => Promise<SpanSink>;

const loadSdk: SinkFactory = async (settings, version, report) =>
  (await import('./otlp-sdk.js')).createSpanSink(settings, version, report);

/** How often at most the export's problems are logged (a collector that is down fails every batch). */
const REPORT_EVERY_MS = 60_000;

/** Logs the export's problems (a failed batch, dropped spans): the first at once, then one a minute with a count. */
function problemReporter(logger: Logger, now: () => number = Date.now): (problem: string) => void {
  let lastAt: number | undefined;
  let since = 0;
  return (problem) => {
    const t = now();
    if (lastAt !== undefined && t - lastAt < REPORT_EVERY_MS) {
      since++;
      return;
    }
    logger.warn(
      { problem: problem.slice(0, 500), ...(since > 0 ? { alsoSince: since } : {}) },
      'the OTLP export of spans failed',
    );
    lastAt = t;
    since = 0;
  };
}

/** Starts the export if `env` asks for it; undefined (and nothing loaded) when it does not. */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  logger: Logger,
  factory: SinkFactory = loadSdk,
): Promise<RunningTracing | undefined> {
  const choice = otlpChoice(env);
  for (const warning of choice.warnings) logger.warn(warning);
  if (!choice.enabled) return undefined;
  const sink = await factory(choice.settings, skiffVersion(), problemReporter(logger));
  let failed = false;
  const onSpan = (message: unknown): void => {
    try {
      sink.record(message as InvocationSpan);
    } catch (err) {
      // a span is never worth an invocation: report once, go on
      if (!failed) logger.warn({ err: (err as Error).message }, 'a span could not be recorded');
      failed = true;
    }
  };
  subscribe(INVOCATION_SPAN_CHANNEL, onSpan);
  logger.info(
    {
      endpoint: shownEndpoint(choice.settings.endpoint),
      service: choice.settings.serviceName,
      sampler: choice.settings.sampler,
    },
    'exporting invocation spans by OTLP',
  );
  return {
    async stop() {
      unsubscribe(INVOCATION_SPAN_CHANNEL, onSpan);
      // a collector that does not answer holds up a stop for STOP_WAIT_MS at most
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), STOP_WAIT_MS);
      });
      try {
        const outcome = await Promise.race([sink.shutdown(), late]);
        if (outcome === 'late')
          logger.warn({ waitedMs: STOP_WAIT_MS }, 'the last spans were not exported in time');
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'the last spans could not be exported');
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
