/**
 * A fake runtime for tests of the platform's protocol connection: the peer's end of an in-memory duplex
 * pair (frames it receives, a way to send any), a recorder of the connection's hooks, and `connect`,
 * which makes a connection and optionally runs the handshake. No process.
 */
import { duplexPair, type Duplex } from 'node:stream';
import type { SkiffError } from '../../src/shared/errors.js';
import type { Invocation, Result } from '../../src/model/invocation.js';
import type { CallService } from '../../src/executor/calls.js';
import type { StateService } from '../../src/executor/state-service.js';
import { ProtocolConnection, type ConnectionHooks } from '../../src/executor/protocol/connection.js';
import { FrameDecoder, FrameKind, encodeFrame, type Frame } from '../../src/executor/protocol/frames.js';
import type { InitMeta } from '../../src/executor/protocol/messages.js';

/** The runtime's end: frames it receives, in order, and a way to send any bytes. */
export class FakePeer {
  readonly received: Frame[] = [];
  private readonly decoder = new FrameDecoder();
  private waiting: { kind: number; resolve: (frame: Frame) => void } | undefined;

  constructor(private readonly end: Duplex) {
    end.on('data', (chunk: Buffer) => {
      for (const frame of this.decoder.push(chunk)) {
        this.received.push(frame);
        if (this.waiting?.kind === frame.kind) this.waiting.resolve(frame);
      }
    });
    end.on('error', () => undefined);
  }

  send(kind: number, id: number, meta?: object, body?: Uint8Array): void {
    this.end.write(encodeFrame(kind, id, meta, body));
  }

  /** Reads nothing more: what the platform writes stays queued on its side once a buffer is full. */
  stopReading(): void {
    this.end.pause();
  }

  /** The next frame of a kind (or one received already and not looked at). */
  next(kind: number): Promise<Frame> {
    const seen = this.received.find((f) => f.kind === kind);
    if (seen !== undefined) {
      this.received.splice(this.received.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => {
      this.waiting = {
        kind,
        resolve: (frame) => {
          this.waiting = undefined;
          this.received.splice(this.received.indexOf(frame), 1);
          resolve(frame);
        },
      };
    });
  }
}

/** Lets the streams deliver what was written (setImmediate is not faked). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export function recorder(oom = false) {
  const seen = {
    logs: [] as string[],
    changed: 0,
    timedOut: 0,
    violations: [] as string[],
    hung: 0,
  };
  const hooks: ConnectionHooks = {
    log: (stream, level, message) => seen.logs.push(`${stream} ${level} ${message}`),
    changed: () => seen.changed++,
    timedOut: () => seen.timedOut++,
    violated: (reason) => seen.violations.push(reason),
    hung: () => seen.hung++,
    outOfMemory: () => oom,
  };
  return { seen, hooks };
}

export const INIT: InitMeta = {
  codeDir: '/code',
  handler: 'index.js',
  function: 'fn',
  version: 1,
  env: {},
  secrets: {},
};

export function invocation(id: string, body = ''): Invocation {
  return {
    id,
    function: 'fn',
    trigger: 'http',
    method: 'POST',
    path: '/p',
    query: 'q=1',
    headers: [['x-a', 'b']],
    body: Buffer.from(body),
    deadline: 0,
    host: 'example.test',
  };
}

export function track(call: Promise<Result>) {
  const outcome: { result?: Result; error?: SkiffError } = {};
  call.then(
    (result) => (outcome.result = result),
    (error: SkiffError) => (outcome.error = error),
  );
  return outcome;
}

/** A connection and its peer; `ready` also runs the handshake. */
export async function connect(
  options: {
    ready?: boolean;
    oom?: boolean;
    maxResponseBytes?: number;
    calls?: CallService;
    state?: StateService;
  } = {},
) {
  const [mine, theirs] = duplexPair();
  const peer = new FakePeer(theirs);
  const { seen, hooks } = recorder(options.oom);
  const connection = new ProtocolConnection(mine, {
    maxResponseBytes: options.maxResponseBytes ?? 1024 * 1024,
    probeTimeoutMs: 250,
    hooks,
    calls: () => options.calls,
    state: () => options.state,
  });
  if (options.ready === true) {
    const hello = connection.waitHello(1_000);
    peer.send(FrameKind.HELLO, 0, { protocol: 1, runtime: 'fake' });
    await hello;
    const ready = connection.init(INIT, 1_000);
    await peer.next(FrameKind.INIT);
    peer.send(FrameKind.READY, 0);
    await ready;
  }
  return { connection, peer, seen, stream: mine };
}
