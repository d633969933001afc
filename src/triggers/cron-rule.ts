import { Cron } from 'croner';
import type { CronRule } from '../control/spec.js';
import { SkiffError } from '../shared/errors.js';

/** Refuses a schedule or time zone croner cannot run, naming it (at deploy). */
export function checkCronRule(rule: CronRule, where: string): void {
  try {
    const probe = new Cron(rule.schedule, { timezone: rule.timezone, paused: true });
    // a time zone is only checked when a run time is computed
    probe.nextRun();
    probe.stop();
  } catch (err) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `${where}: schedule ${JSON.stringify(rule.schedule)} in time zone ${rule.timezone} is invalid: ${(err as Error).message}`,
    );
  }
}
