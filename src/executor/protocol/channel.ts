/**
 * The frame layer of a runtime-protocol connection, on any duplex stream (an instance's fd 3 socket, a
 * `net.Socket`, one end of `stream.duplexPair()`): frames the peer sends are bounded and parsed by
 * schema (`readFrames`), frames to it are batched (`FrameWriter`). It keeps no protocol state; the
 * platform's connection (`connection.ts`) and the conformance kit each build on it.
 */
import type { Duplex } from 'node:stream';
import { readFrames } from './frame-intake.js';
import { FrameWriter, type FlushSchedule, type FrameTooLargeError } from './frames.js';
import type { BridgeFrame } from './messages.js';

export interface ChannelHandlers {
  /** A frame that passed its schema. */
  frame(frame: BridgeFrame): void;
  /** A frame announced over the size limit (its bytes are not read); the channel stops reading. */
  tooLarge(err: FrameTooLargeError): void;
  /** Anything else wrong with the stream (a bad frame, a frame failing its schema); reading stops. */
  violation(reason: string): void;
  /** The stream closed (the peer went away, or it was ended here). */
  closed?(): void;
}

export class FrameChannel {
  private readonly writer: FrameWriter;
  /** Set once the stream is not to be trusted any more: the rest of what arrives is ignored. */
  private stopped = false;

  constructor(
    private readonly stream: Duplex,
    maxResponseBytes: number,
    handlers: ChannelHandlers,
    /** When queued frames are written (`FlushSchedule`); once per tick unless said. */
    schedule: FlushSchedule = 'tick',
  ) {
    this.writer = new FrameWriter(stream, schedule);
    readFrames(stream, maxResponseBytes, {
      frame: (frame) => handlers.frame(frame),
      tooLarge: (err) => {
        this.stopped = true;
        handlers.tooLarge(err);
      },
      violation: (reason) => {
        this.stopped = true;
        handlers.violation(reason);
      },
      ended: () => this.stopped,
    });
    stream.on('close', () => handlers.closed?.());
  }

  /**
   * Queues a frame for the peer (its meta an object or the JSON text of one; frames queued in one tick,
   * or turn, leave in one write); a no-op once closed.
   * `sent` is called once the frame's bytes are on their way out (`FrameWriter.send`): before that the
   * peer cannot have read it.
   */
  send(kind: number, id: number, meta?: object | string, body?: Uint8Array, sent?: () => void): void {
    if (this.stream.destroyed || this.stream.writableEnded) return;
    this.writer.send(kind, id, meta, body, sent);
  }

  /** Ignores whatever the peer sends from now on. */
  stopReading(): void {
    this.stopped = true;
  }

  /** Closes the writing side once queued frames are out: the peer sees end-of-file. */
  end(): void {
    this.writer.flush();
    this.stream.end();
  }

  destroy(): void {
    this.stopped = true;
    this.stream.destroy();
  }
}
