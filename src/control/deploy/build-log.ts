/** Characters of a build log kept per version (the registry's copy, the 422's details, the log file). */
export const BUILD_LOG_MAX_CHARS = 64 * 1024;

/**
 * The output of one deploy, bounded: the first half of the budget and the last half are kept, with a
 * marker saying how much was left out between them. The end is where the error is; the start says what
 * ran. Memory stays within the budget however much a build prints.
 */
export class BuildLog {
  private head = '';
  private tail = '';
  private dropped = 0;
  private readonly half: number;

  constructor(private readonly maxChars: number = BUILD_LOG_MAX_CHARS) {
    this.half = Math.floor(maxChars / 2);
  }

  /** Adds one line (or several, separated by newlines). */
  add(line: string): void {
    this.append(this.head === '' && this.tail === '' && this.dropped === 0 ? line : `\n${line}`);
  }

  /** Adds raw output as it comes (a process's chunks). */
  append(text: string): void {
    if (this.tail === '' && this.dropped === 0 && this.head.length + text.length <= this.maxChars) {
      this.head += text;
      return;
    }
    if (this.tail === '' && this.dropped === 0) {
      // the head is full from here on: what does not fit in its half starts the tail
      const all = this.head + text;
      this.head = all.slice(0, this.half);
      this.tail = all.slice(this.half);
    } else {
      this.tail += text;
    }
    // trimmed in batches so that a build printing many short lines costs linear time
    if (this.tail.length > 2 * this.half) this.trimTail();
  }

  private trimTail(): void {
    const cut = this.tail.length - this.half;
    if (cut <= 0) return;
    this.dropped += cut;
    this.tail = this.tail.slice(cut);
  }

  /** The log as stored and returned. */
  text(): string {
    if (this.tail === '') return this.head;
    this.trimTail();
    return `${this.head}\n[… ${this.dropped} characters of build output left out …]\n${this.tail}`;
  }

  /** The log's lines (for the function's log file). */
  lines(): string[] {
    return this.text().split('\n');
  }
}
