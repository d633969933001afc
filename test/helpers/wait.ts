/**
 * Polls `probe` every 50 ms until it gives a value (not undefined), and returns it; throws naming
 * `what` after `ms`. For states a test can only observe from outside (a record, a file, a process).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
