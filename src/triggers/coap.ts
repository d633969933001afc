import type { TriggerAdapter } from './types.js';

/** The coap trigger (issue 7): not built yet, so it starts nothing. */
export const coap: TriggerAdapter = {
  enabled: () => false,
  start: () => Promise.resolve({ stop: () => Promise.resolve() }),
};
