/**
 * The OpenTelemetry SDK side of tracing: turns each invocation the executor ran (InvocationSpan) into
 * one SERVER span and exports it by OTLP over HTTP. Imported only when the export is on
 * (otlp-tracing.ts loads it with a dynamic import): with tracing off, none of the SDK is loaded.
 *
 * A span gets the ids the invocation already has (its function saw them as `ctx.traceparent`), so the
 * spans of its calls and casts, made from those ids, are its children. It holds names, times and
 * outcomes only: never a payload, a header or a secret (docs/operations.md).
 */
import {
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
} from '@opentelemetry/api';
import { loggingErrorHandler, setGlobalErrorHandler, TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type IdGenerator,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { InvocationSpan } from '../model/trace.js';
import type { OtlpSettings, SamplerName } from './otlp-settings.js';
import { newSpanId, newTraceId } from './trace-context.js';

export interface SpanSink {
  record(span: InvocationSpan): void;
  /** Exports what is waiting and stops (a graceful stop of the platform). */
  shutdown(): Promise<void>;
}

/** Hands the SDK the ids of the span being started (the invocation's own), else new ones. */
class GivenIds implements IdGenerator {
  next: { traceId: string; spanId: string } | undefined;
  generateTraceId(): string {
    return this.next?.traceId ?? newTraceId();
  }
  generateSpanId(): string {
    return this.next?.spanId ?? newSpanId();
  }
}

function samplerOf(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** `faas.trigger` of the OpenTelemetry FaaS conventions for a Skiff trigger kind. */
function faasTrigger(trigger: string): string {
  if (trigger === 'http' || trigger === 'grpc' || trigger === 'coap' || trigger === 'call') return 'http';
  if (trigger === 'cron') return 'timer';
  if (trigger === 'mqtt' || trigger === 'async' || trigger === 'cast') return 'pubsub';
  return 'other';
}

/** What the message of an SDK problem says, in one line. */
function describe(problem: unknown): string {
  if (problem instanceof Error) return problem.message;
  return typeof problem === 'string' ? problem : String(problem);
}

/**
 * The SDK's failed exports (its global error handler) and warnings (dropped spans, ignored settings)
 * go to `report`: without it they went to OpenTelemetry's own diagnostics logger, which logs nothing,
 * and a collector that is down or refuses lost every span without a word. Process-wide, like the SDK's.
 */
function reportProblems(report: (problem: string) => void): () => void {
  setGlobalErrorHandler((err) => report(describe(err)));
  const warn = (message: string, ...args: unknown[]): void =>
    report([message, ...args.map(describe)].join(' '));
  diag.setLogger(
    { error: warn, warn, info: () => undefined, debug: () => undefined, verbose: () => undefined },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  return () => {
    diag.disable();
    setGlobalErrorHandler(loggingErrorHandler());
  };
}

export function createSpanSink(
  settings: OtlpSettings,
  version: string,
  report: (problem: string) => void = () => undefined,
): SpanSink {
  const quiet = reportProblems(report);
  const ids = new GivenIds();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: version,
    }),
    idGenerator: ids,
    sampler: samplerOf(settings.sampler, settings.ratio),
    // the endpoint checked by otlp-settings.ts, the one the log names; the exporter reads
    // OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, _TIMEOUT, _COMPRESSION itself
    spanProcessors: [
      new BatchSpanProcessor({
        exporter:
          settings.protocol === 'http/protobuf'
            ? new ProtobufExporter({ url: settings.endpoint })
            : new JsonExporter({ url: settings.endpoint }),
        ...settings.batch,
      }),
    ],
  });
  const tracer = provider.getTracer('skiff', version);
  return {
    record(s) {
      const t = s.trace;
      let parent: Context = ROOT_CONTEXT;
      if (t.parentSpanId !== undefined) {
        parent = trace.setSpanContext(ROOT_CONTEXT, {
          traceId: t.traceId,
          spanId: t.parentSpanId,
          traceFlags: t.flags,
          // a caller's span is this platform's own; a client's traceparent came from elsewhere
          isRemote: s.trigger !== 'call' && s.trigger !== 'cast',
          ...(t.state === undefined ? {} : { traceState: new TraceState(t.state) }),
        });
      }
      const attributes: Attributes = {
        'faas.name': s.function,
        'faas.version': String(s.version),
        'faas.invocation_id': s.invocationId,
        'faas.trigger': faasTrigger(s.trigger),
        'faas.coldstart': s.coldStart,
        'skiff.trigger': s.trigger,
        'skiff.outcome': s.errorCode ?? 'ok',
      };
      if (s.status !== undefined) attributes['http.response.status_code'] = s.status;
      ids.next = { traceId: t.traceId, spanId: t.spanId };
      let span;
      try {
        span = tracer.startSpan(
          s.function,
          { kind: SpanKind.SERVER, startTime: s.startMs, attributes },
          parent,
        );
      } finally {
        ids.next = undefined;
      }
      if (s.coldStart) span.addEvent('cold_start', s.startMs);
      if (s.errorCode !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: s.errorCode });
      else if (s.status !== undefined && s.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(s.endMs);
    },
    shutdown: () => provider.shutdown().finally(quiet),
  };
}
