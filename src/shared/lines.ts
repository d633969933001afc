import type { Readable } from 'node:stream';

/** Longest line passed on (characters); a longer one is cut here and the rest up to its newline dropped. */
export const MAX_LINE_CHARS = 16 * 1024;

/** The marker after a line that was cut. */
export const CUT_MARKER = ' … [line cut: longer than 16 KiB]';

/**
 * Calls `onLine` for every line of a text stream, and for a last line without a newline at its end.
 * Whatever the stream holds, memory stays bounded and the cost is linear: a line longer than
 * `maxChars` is passed on cut (with a marker) as soon as it is that long, and the rest of it, up to the
 * next newline, is dropped. `onLine` throwing does not stop the stream.
 */
export function eachLine(
  stream: Readable | null,
  onLine: (line: string) => void,
  maxChars = MAX_LINE_CHARS,
): void {
  if (stream === null) return;
  const splitter = new LineSplitter(onLine, maxChars);
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => splitter.push(chunk));
  stream.on('end', () => splitter.end());
}

/** The line splitting of `eachLine`, on strings pushed in. */
export class LineSplitter {
  /** The start of the current line (at most maxChars characters, in pieces). */
  private parts: string[] = [];
  private length = 0;
  /** The current line was cut already: drop everything up to its newline. */
  private dropping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxChars = MAX_LINE_CHARS,
  ) {}

  push(chunk: string): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf('\n', start);
      const end = newline === -1 ? chunk.length : newline;
      this.add(chunk, start, end);
      if (newline === -1) return;
      this.finishLine();
      start = newline + 1;
    }
  }

  end(): void {
    if (this.length > 0 && !this.dropping) this.emit(this.parts.join(''));
    this.reset();
  }

  private add(chunk: string, start: number, end: number): void {
    if (this.dropping || end === start) return;
    const room = this.maxChars - this.length;
    if (end - start <= room) {
      this.parts.push(chunk.slice(start, end));
      this.length += end - start;
      return;
    }
    this.parts.push(chunk.slice(start, start + room));
    this.emit(`${this.parts.join('')}${CUT_MARKER}`);
    this.parts = [];
    this.length = 0;
    this.dropping = true;
  }

  private finishLine(): void {
    if (!this.dropping) this.emit(this.parts.join(''));
    this.reset();
  }

  private reset(): void {
    this.parts = [];
    this.length = 0;
    this.dropping = false;
  }

  private emit(line: string): void {
    try {
      this.onLine(line);
    } catch {
      // the consumer's failure is its own to report; the stream goes on
    }
  }
}

/**
 * A text of at most `maxBytes` UTF-8 bytes (from bytes or a string), cut with a marker saying how much
 * was left out. The cut may split a character at the end (it becomes U+FFFD).
 */
export function capText(text: Buffer | string, maxBytes: number): string {
  const bytes = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
  if (bytes <= maxBytes) return typeof text === 'string' ? text : text.toString('utf8');
  const head =
    typeof text === 'string'
      ? Buffer.from(text.slice(0, maxBytes), 'utf8').toString('utf8', 0, maxBytes)
      : text.toString('utf8', 0, maxBytes);
  return `${head} … [cut: ${bytes - maxBytes} more bytes]`;
}
