import type { TriggerAdapter } from './types.js';

/** The cron trigger (issue 7): not built yet, so it starts nothing. */
export const cron: TriggerAdapter = {
  enabled: () => false,
  start: () => Promise.resolve({ stop: () => Promise.resolve() }),
};
