/**
 * One invocation in flight in the Node bridge: whether the platform cancelled it, and its
 * AbortSignal, made only when something reads it (the handler's `ctx.signal` or `request.signal`, a
 * flavor's adapter). An AbortController with listeners per call is work most handlers never use.
 */
export class InvocationSignal {
  private controller: AbortController | undefined;
  private isCancelled = false;

  /** True once the platform sent CANCEL for this invocation. */
  get cancelled(): boolean {
    return this.isCancelled;
  }

  /** The invocation's signal: aborted when the platform cancels it (already aborted if it did). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.isCancelled) this.controller.abort(cancelReason());
    }
    return this.controller.signal;
  }

  /** CANCEL from the platform: aborts the signal if one was handed out. */
  cancel(): void {
    if (this.isCancelled) return;
    this.isCancelled = true;
    this.controller?.abort(cancelReason());
  }
}

function cancelReason(): Error {
  return new Error('invocation cancelled by the platform');
}
