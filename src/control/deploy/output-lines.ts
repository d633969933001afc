/**
 * A build step's output, cut into lines as it comes, for the build log and the deploy's progress.
 * A line is what a terminal would show of it: after its last carriage return (a progress bar's last
 * state), without trailing spaces; blank lines are left out. A line longer than `maxLine` characters
 * is passed on in pieces, so that a step printing without newlines holds no more than that.
 */
export class OutputLines {
  private pending = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine: number = 16 * 1024,
  ) {}

  push(text: string): void {
    const parts = (this.pending + text).split('\n');
    this.pending = parts.pop() ?? '';
    for (const part of parts) this.emit(part);
    while (this.pending.length > this.maxLine) {
      this.emit(this.pending.slice(0, this.maxLine));
      this.pending = this.pending.slice(this.maxLine);
    }
  }

  /** The last line, when the output did not end with a newline. */
  flush(): void {
    const rest = this.pending;
    this.pending = '';
    this.emit(rest);
  }

  private emit(raw: string): void {
    const shown = raw.replace(/\r+$/, '');
    const line = shown.slice(shown.lastIndexOf('\r') + 1).trimEnd();
    if (line.trim() !== '') this.onLine(line);
  }
}
