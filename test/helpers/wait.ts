/**
 * Polls `probe` every 50 ms until it gives a value (not undefined), and returns it; throws naming
 * `what` after `ms`. For states a test can only observe from outside (a record, a file, a process).
 * `what` may be a function: it is called at the timeout, to say what was seen instead.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `waitFor` of a condition: resolves once `check` is true, throws naming `what` after `ms`. */
export async function waitUntil(
  what: string | (() => string),
  check: () => Promise<boolean> | boolean,
  ms = 30_000,
): Promise<void> {
  await waitFor(what, async () => ((await check()) ? true : undefined), ms);
}

/**
 * Lets `ms` of real time pass, for the one thing a condition cannot show: that something does NOT
 * happen within that time (a second run, a kill, a late message), or that the platform's own clock
 * (a timeout, a cron tick, an idle reaper) had its chance to act. `why` says which, at the call.
 * Never use it to wait for something to happen: that is `waitFor`/`waitUntil`.
 */
export async function quietFor(ms: number, why: string): Promise<void> {
  void why;
  await new Promise((resolve) => setTimeout(resolve, ms));
}
