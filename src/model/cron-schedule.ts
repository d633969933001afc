import { Cron } from 'croner';

/** Why croner cannot run a schedule in a time zone, or undefined when it can. */
export function cronRuleProblem(rule: { schedule: string; timezone: string }): string | undefined {
  try {
    const probe = new Cron(rule.schedule, { timezone: rule.timezone, paused: true });
    // a time zone is only checked when a run time is computed
    probe.nextRun();
    probe.stop();
    return undefined;
  } catch (err) {
    return `schedule ${JSON.stringify(rule.schedule)} in time zone ${rule.timezone} is invalid: ${(err as Error).message}`;
  }
}
