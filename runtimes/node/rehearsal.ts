/**
 * What a Node bridge does once while it waits for INIT (a warm-pool process waits long before its
 * function comes): the work of a first INIT and a first INVOKE that does not depend on the function,
 * so a cold start from the warm pool does not pay for it. Parsing an INIT and an INVOKE frame (zod
 * builds each schema's parser on its first use), importing a file module (the ESM loader's first
 * resolution and load) and running a handler on a lazy request through `toResult`. Nothing is sent
 * to the platform, no global is changed and no code of the function runs.
 */
import { FrameKind } from '../../src/executor/protocol/frames.js';
import type { InvokeMeta } from '../../src/executor/protocol/messages.js';
import type { BridgeConnection } from '../shared/connection.js';
import { exposedGc } from '../../src/shared/exposed-gc.js';
import { InvocationSignal } from './invocation.js';
import { lazyRequest } from './lazy-request.js';
import { toResult } from './result.js';

/** Next to the bundled bridge (dist/runtimes/node/); a computed URL, so the bundler leaves it a file. */
const MODULE = new URL(['.', 'rehearsal-module.js'].join('/'), import.meta.url).href;
const EMPTY = Buffer.alloc(0);

/** Rehearses a first INIT and INVOKE; resolves when done (never rejects: it is only a warm-up). */
export async function rehearse(connection: BridgeConnection): Promise<void> {
  try {
    const meta: InvokeMeta = {
      invocationId: 'rehearsal',
      method: 'GET',
      url: 'http://localhost/rehearsal',
      headers: [['host', 'localhost']],
      deadline: 0,
      trigger: 'http',
    };
    const init = {
      codeDir: '/',
      handler: 'index.js',
      function: 'rehearsal',
      version: 1,
      env: {},
      secrets: {},
    };
    connection.rehearse([
      { kind: FrameKind.INIT, id: 0, meta: init, body: EMPTY },
      { kind: FrameKind.INVOKE, id: 1, meta, body: EMPTY },
    ]);
    const mod = (await import(MODULE)) as { default: (request: Request) => unknown };
    const request = lazyRequest(meta, EMPTY, new InvocationSignal());
    request.headers.get('host');
    await toResult(mod.default(request));
  } catch {
    // a warm-up that failed costs the first call what it would have cost anyway
  }
  collectGarbage();
}

/**
 * Collects the young garbage of the start and of the rehearsal now, while the process waits: else
 * the young generation, nearly full by then, is collected in the middle of the first INIT or INVOKE
 * (a scavenge of several MB, milliseconds, far more when the machine is busy). `gc` is exposed to a
 * context of its own, created for this, and the flag is reset at once: the function's global never
 * has it.
 */
function collectGarbage(): void {
  try {
    // the young generation only: a scavenge, not a collection of the whole heap
    exposedGc()?.({ type: 'minor' });
  } catch {
    // without it the first call may pay for a collection, as before
  }
}
