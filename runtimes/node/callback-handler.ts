/**
 * Running a handler written in the Lambda style `(event, context, callback)`, as the Scaleway and
 * Baetyl flavors call them: the first answer wins (the callback, a returned promise's value or
 * rejection, a thrown error, or a plain return value), and a cancelled invocation stops waiting.
 */

/** What the handler answered. */
export type Outcome = { value: unknown } | { error: unknown };

/** The Node callback: an error (anything but undefined and null), else the result. */
export type NodeCallback = (error?: unknown, result?: unknown) => void;

export interface CallbackStyle {
  /** Whether the handler takes the callback (three parameters or more). */
  takesCallback: boolean;
  /**
   * For a handler that takes the callback: whether a plain (not a promise) return value other than
   * undefined answers too. A promise's value other than undefined always does.
   */
  plainReturnAnswers: boolean;
}

/** Calls `call(callback)` once and resolves with the first answer, or `cancelled`. Never rejects. */
export function runCallbackStyle(
  call: (callback: NodeCallback) => unknown,
  style: CallbackStyle,
  signal: AbortSignal,
): Promise<Outcome | 'cancelled'> {
  return new Promise<Outcome | 'cancelled'>((resolve) => {
    let done = false;
    const settle = (o: Outcome | 'cancelled') => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      resolve(o);
    };
    const onAbort = () => settle('cancelled');
    signal.addEventListener('abort', onAbort);
    const returned = (value: unknown) => {
      if (value !== undefined || !style.takesCallback) settle({ value });
    };
    const callback: NodeCallback = (error, result) =>
      settle(error === undefined || error === null ? { value: result } : { error });
    try {
      const ret = call(callback);
      if (typeof (ret as PromiseLike<unknown> | null)?.then === 'function') {
        (ret as PromiseLike<unknown>).then(returned, (error: unknown) => settle({ error }));
      } else if (!style.takesCallback || style.plainReturnAnswers) returned(ret);
    } catch (error) {
      settle({ error });
    }
  });
}
