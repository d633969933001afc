/**
 * The triggers' start at the end of `startServer`: the core's adapters that the configuration enables,
 * then the dialects' own listeners, each with a logger of its own; what each reports (its endpoint,
 * its notes) is added to the platform's.
 */
import { TRIGGERS, type RunningTrigger, type TriggerAdapter, type TriggerContext } from './triggers/index.js';

export interface StartedTriggers {
  /** Each trigger started, for the platform's stop (in the order they started). */
  triggers: RunningTrigger[];
  endpoints: Record<string, string>;
  notes: string[];
}

export async function startTriggers(
  context: TriggerContext,
  dialectListeners: readonly [string, TriggerAdapter['start']][],
  into: StartedTriggers,
): Promise<void> {
  const starts: [string, TriggerAdapter['start']][] = [
    ...Object.entries(TRIGGERS)
      .filter(([, adapter]) => adapter.enabled(context.config))
      .map(([name, adapter]): [string, TriggerAdapter['start']] => [name, (ctx) => adapter.start(ctx)]),
    ...dialectListeners,
  ];
  for (const [name, start] of starts) {
    const running = await start({ ...context, logger: context.logger.child({ part: name }) });
    into.triggers.push(running);
    if (running.endpoint !== undefined) into.endpoints[running.endpoint.name] = running.endpoint.url;
    into.notes.push(...(running.notes ?? []));
  }
}
