/**
 * The platform's Prometheus metrics, in a registry of their own (never prom-client's global one). Every
 * labelled series of a function goes through a BoundedSeries (series.ts): capped, and forgotten with
 * the function. docs/operations.md lists them (a test keeps the two equal).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BoundedSeries, DEFAULT_SERIES_CAP } from './series.js';

const SECONDS_FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const SECONDS_START = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
const SECONDS_WAIT = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60];
const SECONDS_BUILD = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export type PlatformMetrics = ReturnType<typeof defineMetrics>;

/** The metrics on `registry`; the gauges read at a scrape are defined apart. */
export function defineMetrics(registry: Registry, cap = DEFAULT_SERIES_CAP) {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers });
  const histogram = (name: string, help: string, labelNames: string[], buckets: number[]) =>
    new Histogram({ name, help, labelNames, buckets, registers });
  return {
    invocations: new BoundedSeries(
      counter('skiff_invocations_total', 'Invocations the executor was given, by how they ended.', [
        'function',
        'trigger',
        'outcome',
      ]),
      2,
      cap,
    ),
    duration: new BoundedSeries(
      histogram(
        'skiff_invocation_duration_seconds',
        'Time from the executor taking an invocation to its end (queue wait included; refusals left out).',
        ['function', 'trigger'],
        SECONDS_FAST,
      ),
      1,
      cap,
    ),
    rejections: new BoundedSeries(
      counter('skiff_invocation_rejections_total', 'Invocations refused without running (429 and 503).', [
        'function',
        'reason',
      ]),
      1,
      cap,
    ),
    timeouts: new BoundedSeries(
      counter('skiff_invocation_timeouts_total', 'Invocations that ended with SKIFF_E_TIMEOUT.', [
        'function',
        'trigger',
      ]),
      1,
      cap,
    ),
    coldStarts: new BoundedSeries(
      counter('skiff_cold_starts_total', 'Instances started because an invocation had to wait for one.', [
        'function',
        'outcome',
      ]),
      1,
      cap,
    ),
    coldStartDuration: new BoundedSeries(
      histogram(
        'skiff_cold_start_duration_seconds',
        'Time a cold start took until the instance was ready.',
        ['function'],
        SECONDS_START,
      ),
      0,
      cap,
    ),
    queueWait: new BoundedSeries(
      histogram(
        'skiff_queue_wait_seconds',
        "Time an invocation waited in its function's queue for a free instance slot.",
        ['function'],
        SECONDS_WAIT,
      ),
      0,
      cap,
    ),
    asyncRetries: new BoundedSeries(
      counter('skiff_async_retries_total', 'Attempts of queued invocations scheduled again.', [
        'function',
        'reason',
      ]),
      1,
      cap,
    ),
    deadLetters: new BoundedSeries(
      counter('skiff_async_dead_letters_total', 'Queued invocations that became final without a result.', [
        'function',
        'reason',
      ]),
      1,
      cap,
    ),
    buildDuration: new BoundedSeries(
      histogram(
        'skiff_build_duration_seconds',
        "Time a deploy's build took, its first instance's start included.",
        ['function', 'outcome'],
        SECONDS_BUILD,
      ),
      1,
      cap,
    ),
    buildFailures: new BoundedSeries(
      counter('skiff_build_failures_total', 'Deploys whose build or first start failed.', ['function']),
      0,
      cap,
    ),
  };
}

/** Refusals counted without a function: the name or address they carry is a stranger's. */
export function defineRefusals(registry: Registry) {
  const refusals = new Counter({
    name: 'skiff_refusals_total',
    help: 'Requests refused before reaching a function, by reason (client_in_flight, async_queue_full).',
    labelNames: ['reason'],
    registers: [registry],
  });
  // both reasons are shown from the start, at 0
  return {
    client_in_flight: refusals.labels('client_in_flight'),
    async_queue_full: refusals.labels('async_queue_full'),
  };
}

/** The gauges computed at each scrape (platform-metrics.ts fills them). */
export function defineGauges(registry: Registry) {
  const registers = [registry];
  return {
    instances: new Gauge({
      name: 'skiff_instances',
      help: 'Instances of live versions by state (starting, idle, busy, stopping).',
      labelNames: ['function', 'state'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'skiff_queue_depth',
      help: "Invocations waiting in a function's queue for a free instance slot.",
      labelNames: ['function'],
      registers,
    }),
    warmPool: new Gauge({
      name: 'skiff_warm_pool_instances',
      help: 'Generic processes of the warm pool waiting for a function, by runtime.',
      labelNames: ['runtime'],
      registers,
    }),
    asyncBacklog: new Gauge({
      name: 'skiff_async_backlog',
      help: 'Invocations in the durable queue not final yet, by state (queued, running).',
      labelNames: ['state'],
      registers,
    }),
    asyncBacklogBytes: new Gauge({
      name: 'skiff_async_backlog_bytes',
      help: 'Bytes of the durable queue not final yet (what async.maxQueuedBytes limits).',
      registers,
    }),
    deadLettersKept: new Gauge({
      name: 'skiff_async_dead_letters',
      help: 'Dead letters (failed queued invocations) kept in the durable queue until retention deletes them.',
      registers,
    }),
  };
}
