/**
 * The cron trigger: schedules in skiff.json `triggers.cron` (croner: 5 fields, or 6 with seconds
 * first, in a time zone). Each run is queued durably like an async invocation, so it is recorded with
 * its outcome (`GET /v1/invocations?function=<name>`) and retried like one. A run is skipped while the
 * previous run of the same schedule has not finished, unless `overlap` is set. After a restart the
 * schedule starts from now: missed runs are not caught up (no burst).
 */
import { Cron } from 'croner';
import type { CronRule } from '../model/spec.js';
import { TERMINAL } from '../store/queue-store.js';
import type { TriggerAdapter, TriggerContext } from './types.js';

interface Job {
  cron: Cron;
  /** The id of the last run queued, to keep runs from overlapping. */
  last: string | undefined;
}

function run(ctx: TriggerContext, fn: string, rule: CronRule, job: Job): void {
  if (!rule.overlap && job.last !== undefined) {
    const previous = ctx.queue.get(job.last);
    if (previous !== undefined && !TERMINAL.includes(previous.status)) {
      ctx.logger.info(
        { fn, schedule: rule.schedule, previous: job.last },
        'cron run skipped: the last one is still going',
      );
      return;
    }
  }
  try {
    job.last = ctx.queue.accept({
      function: fn,
      trigger: 'cron',
      method: 'POST',
      path: '/',
      query: '',
      headers: [
        ['x-skiff-cron', rule.schedule],
        ['x-skiff-scheduled-at', new Date().toISOString()],
        ['content-type', rule.args === undefined ? 'text/plain' : 'application/json'],
      ],
      body: Buffer.from(rule.args === undefined ? rule.body : JSON.stringify(rule.args)),
      host: 'cron',
      callbackUrl: null,
    });
  } catch (err) {
    // the queue is full or the disk is: this run is skipped, the next tick tries again
    ctx.logger.error({ err, fn, schedule: rule.schedule }, 'cron run skipped: it could not be queued');
  }
}

export const cron: TriggerAdapter = {
  enabled: (config) => config.cron.enabled,
  start(ctx) {
    const jobs = new Map<string, Job>();
    let stopped = false;
    const load = (): void => {
      if (stopped) return;
      const wanted = new Map<string, { fn: string; rule: CronRule }>();
      for (const f of ctx.liveFunctions()) {
        (f.spec.triggers?.cron ?? []).forEach((rule, i) => {
          wanted.set(`${f.name}#${i}@${f.version}`, { fn: f.name, rule });
        });
      }
      for (const [key, job] of jobs) {
        if (wanted.has(key)) continue;
        job.cron.stop();
        jobs.delete(key);
      }
      for (const [key, { fn, rule }] of wanted) {
        if (jobs.has(key)) continue;
        const job: Job = { cron: undefined as unknown as Cron, last: undefined };
        try {
          job.cron = new Cron(rule.schedule, { timezone: rule.timezone, unref: true }, () =>
            run(ctx, fn, rule, job),
          );
          jobs.set(key, job);
        } catch (err) {
          ctx.logger.error({ err, fn, schedule: rule.schedule }, 'cron schedule cannot run');
        }
      }
    };
    load();
    ctx.onFunctionsChanged(load);
    return Promise.resolve({
      stop: () => {
        stopped = true;
        for (const job of jobs.values()) job.cron.stop();
        jobs.clear();
        return Promise.resolve();
      },
    });
  },
};
