/**
 * The platform's metrics: the counters and histograms fed by the core's named diagnostics channels
 * (shared/probes.ts), the gauges read at each scrape from the executor and the durable queue, and the
 * process's own (prom-client's default metrics, prefixed `skiff_`). Wired by the composition root; the
 * core never imports this module.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  probes,
  type AsyncDeadLetter,
  type AsyncRetry,
  type BuildEnd,
  type ColdStart,
  type InvocationEnd,
  type QueueWait,
} from '../shared/probes.js';
import { defineGauges, defineMetrics, defineRefusals } from './definitions.js';
import { classify, triggerLabel } from './outcomes.js';
import { DEFAULT_SERIES_CAP, OVERFLOW } from './series.js';

/** What the gauges are read from at a scrape (the executor, the durable queue, the registry). */
export interface MetricsSources {
  census(): Iterable<{
    function: string;
    queued: number;
    instances: Iterable<{ state: string; inFlight: number }>;
  }>;
  warmCounts(): Partial<Record<string, number>>;
  asyncBacklog(): { queued: number; running: number; failed: number };
  asyncBacklogBytes(): number;
  /** Whether a function of that name exists: series of others are dropped at a scrape. */
  exists(fn: string): boolean;
}

export interface Metrics {
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
  /** Every metric name exposed (process metrics included). */
  names(): string[];
  close(): void;
}

/** The process metrics: one registry per process (prom-client's observers are process-wide). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'skiff_' });
  }
  return processRegistry;
}

const seconds = (ms: number): number => ms / 1000;

export function startMetrics(sources: MetricsSources, cap = DEFAULT_SERIES_CAP): Metrics {
  const registry = new Registry();
  const m = defineMetrics(registry, cap);
  const gauges = defineGauges(registry);
  const refusals = defineRefusals(registry);
  const perProcess = processMetrics();
  const invocationSeries = Object.entries(m)
    .filter(([key]) => !key.startsWith('build'))
    .map(([, series]) => series);

  const handlers: [string, (message: unknown) => void][] = [
    [
      probes.invocationEnd.name as string,
      (message) => {
        const end = message as InvocationEnd;
        const trigger = triggerLabel(end.trigger);
        const { outcome, reason } = classify(end.error, end.platformBusy === true);
        m.invocations.get(end.function, trigger, outcome).inc();
        if (reason !== undefined) m.rejections.get(end.function, reason).inc();
        else m.duration.get(end.function, trigger).observe(seconds(end.durationMs));
        if (outcome === 'timeout') m.timeouts.get(end.function, trigger).inc();
      },
    ],
    [
      probes.coldStart.name as string,
      (message) => {
        const start = message as ColdStart;
        m.coldStarts.get(start.function, start.failed ? 'failed' : 'ready').inc();
        if (!start.failed) m.coldStartDuration.get(start.function).observe(seconds(start.durationMs));
      },
    ],
    [
      probes.queueWait.name as string,
      (message) => {
        const wait = message as QueueWait;
        m.queueWait.get(wait.function).observe(seconds(wait.durationMs));
      },
    ],
    [
      probes.asyncRetry.name as string,
      (message) => {
        const retry = message as AsyncRetry;
        m.asyncRetries.get(retry.function, retry.refused ? 'refused' : 'failed').inc();
      },
    ],
    [
      probes.asyncDeadLetter.name as string,
      (message) => {
        const dead = message as AsyncDeadLetter;
        m.deadLetters.get(dead.function, dead.reason === 'expired' ? 'expired' : 'failed').inc();
      },
    ],
    [
      probes.buildEnd.name as string,
      (message) => {
        const build = message as BuildEnd;
        const outcome = build.failed ? 'failed' : 'succeeded';
        m.buildDuration.get(build.function, outcome).observe(seconds(build.durationMs));
        if (build.failed) m.buildFailures.get(build.function).inc();
      },
    ],
    [
      probes.refusal.name as string,
      (message) => {
        if (message === 'client_in_flight' || message === 'async_queue_full') refusals[message].inc();
      },
    ],
    [
      probes.functionDeleted.name as string,
      (message) => {
        if (typeof message !== 'string') return;
        for (const series of Object.values(m)) series.forget(message);
      },
    ],
  ];
  for (const [name, handler] of handlers) subscribe(name, handler);

  /** The gauges, from the sources as they are now; function series capped like the others. */
  const readGauges = (): void => {
    gauges.instances.reset();
    gauges.queueDepth.reset();
    const seen = new Set<string>();
    for (const pool of sources.census()) {
      // four states a function: a quarter of the cap in functions keeps skiff_instances within it
      if (!seen.has(pool.function) && seen.size < Math.floor(cap / 4)) seen.add(pool.function);
      const fn = seen.has(pool.function) ? pool.function : OVERFLOW;
      gauges.queueDepth.inc({ function: fn }, pool.queued);
      const counts = { starting: 0, idle: 0, busy: 0, stopping: 0 };
      for (const i of pool.instances) {
        if (i.state === 'ready') counts[i.inFlight > 0 ? 'busy' : 'idle']++;
        else if (i.state === 'starting' || i.state === 'warm') counts.starting++;
        else if (i.state === 'stopping') counts.stopping++;
      }
      for (const [state, n] of Object.entries(counts)) gauges.instances.inc({ function: fn, state }, n);
    }
    gauges.warmPool.reset();
    for (const [runtime, n] of Object.entries(sources.warmCounts())) gauges.warmPool.set({ runtime }, n ?? 0);
    const backlog = sources.asyncBacklog();
    gauges.asyncBacklog.set({ state: 'queued' }, backlog.queued);
    gauges.asyncBacklog.set({ state: 'running' }, backlog.running);
    gauges.deadLettersKept.set(backlog.failed);
    gauges.asyncBacklogBytes.set(sources.asyncBacklogBytes());
  };

  return {
    async render() {
      // series of functions gone (deleted while an invocation was still ending) go at the scrape; a
      // build's stay (a failed first deploy leaves no function, and is worth seeing), capped
      for (const series of invocationSeries) series.prune((fn) => sources.exists(fn));
      readGauges();
      const body = (await perProcess.metrics()) + (await registry.metrics());
      return { contentType: registry.contentType, body };
    },
    names() {
      return [
        ...perProcess.getMetricsAsArray().map((metric) => metric.name),
        ...registry.getMetricsAsArray().map((metric) => metric.name),
      ];
    },
    close() {
      for (const [name, handler] of handlers) unsubscribe(name, handler);
    },
  };
}
