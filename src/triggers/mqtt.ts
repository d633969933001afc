import type { TriggerAdapter } from './types.js';

/** The mqtt trigger (issue 7): not built yet, so it starts nothing. */
export const mqtt: TriggerAdapter = {
  enabled: () => false,
  start: () => Promise.resolve({ stop: () => Promise.resolve() }),
};
