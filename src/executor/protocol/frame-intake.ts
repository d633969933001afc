/**
 * The platform's reading side of an instance's protocol socket. Everything on it is untrusted: frames
 * are bounded by the decoder (length prefix and meta checked before buffering), parsed by the schema
 * of their kind, and nothing thrown while handling one reaches the event loop.
 */
import type { Readable } from 'node:stream';
import { FrameDecoder, FrameTooLargeError, MAX_META_BYTES, maxBridgeFrameBytes } from './frames.js';
import { parseBridgeFrame, type BridgeFrame } from './messages.js';

/** Longest reason for ending an instance that is logged. */
const MAX_REASON_CHARS = 300;

export interface FrameHandlers {
  /** A valid frame. */
  frame(frame: BridgeFrame): void;
  /** A frame announced over the size limit (its bytes are not read). */
  tooLarge(err: FrameTooLargeError): void;
  /** Anything else wrong with the stream; also a failure while handling a frame. */
  violation(reason: string): void;
  /** True once the instance is being ended: the rest of the stream is ignored. */
  ended(): boolean;
}

/** A short text for anything thrown, never throwing itself. */
export function reasonOf(err: unknown): string {
  let text: string;
  try {
    text = err instanceof Error ? err.message : String(err);
  } catch {
    text = 'an unreadable error';
  }
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}

/** Reads frames from an instance's socket until the handlers say the instance is ended. */
export function readFrames(socket: Readable, maxResponseBytes: number, handlers: FrameHandlers): void {
  const decoder = new FrameDecoder({
    maxFrameBytes: maxBridgeFrameBytes(maxResponseBytes),
    maxMetaBytes: MAX_META_BYTES,
  });
  socket.on('data', (chunk: Buffer) => {
    if (handlers.ended()) return;
    try {
      for (const raw of decoder.push(chunk)) {
        if (handlers.ended()) return;
        const parsed = parseBridgeFrame(raw);
        if (!parsed.ok) {
          handlers.violation(parsed.reason);
          return;
        }
        handlers.frame(parsed.frame);
      }
    } catch (err) {
      if (err instanceof FrameTooLargeError) handlers.tooLarge(err);
      else handlers.violation(reasonOf(err));
    }
  });
  socket.on('error', () => undefined);
}
