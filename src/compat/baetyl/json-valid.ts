/**
 * Whether bytes are one JSON value, as Go's `json.Valid` decides (the v2 proxy's Content-Type,
 * proxy.ts): RFC 8259's grammar with whitespace around, strings not checked for UTF-8, at most
 * 10 000 arrays and objects deep. A scan that builds nothing: `JSON.parse` of a function's output
 * built every array and object of it, up to a second of the event loop for 6 MiB of `[[[…]]]`
 * or `[{},{},…]` at every proxy call.
 */

/** Go's encoding/json `maxNestingDepth`. */
export const MAX_JSON_DEPTH = 10_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OBJECT = 1;
const ARRAY = 2;

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
/** `"`, `\`, `/`, `b`, `f`, `n`, `r`, `t`: the escapes a JSON string may hold besides `\u`. */
const SIMPLE_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

class Scanner {
  i = 0;
  constructor(readonly b: Buffer) {}

  skipSpace(): void {
    const { b } = this;
    for (;;) {
      const c = b[this.i];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.i++;
    }
  }

  /** A string from its opening quote; false when it is none. */
  string(): boolean {
    const { b } = this;
    if (b[this.i] !== QUOTE) return false;
    this.i++;
    for (;;) {
      const c = b[this.i];
      if (c === undefined || c < 0x20) return false;
      if (c === QUOTE) {
        this.i++;
        return true;
      }
      if (c === BACKSLASH) {
        const e = b[this.i + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) if (!isHex(b[this.i + k])) return false;
          this.i += 6;
        } else if (e !== undefined && SIMPLE_ESCAPES.has(e)) this.i += 2;
        else return false;
      } else this.i++;
    }
  }

  digits(): boolean {
    if (!isDigit(this.b[this.i])) return false;
    while (isDigit(this.b[this.i])) this.i++;
    return true;
  }

  number(): boolean {
    const { b } = this;
    if (b[this.i] === 0x2d) this.i++;
    if (b[this.i] === 0x30) this.i++;
    else if (!this.digits()) return false;
    if (b[this.i] === 0x2e) {
      this.i++;
      if (!this.digits()) return false;
    }
    if (b[this.i] === 0x65 || b[this.i] === 0x45) {
      this.i++;
      if (b[this.i] === 0x2b || b[this.i] === 0x2d) this.i++;
      if (!this.digits()) return false;
    }
    return true;
  }

  literal(): boolean {
    const { b } = this;
    for (const word of LITERALS) {
      if (b[this.i] === word[0] && b.subarray(this.i, this.i + word.length).equals(word)) {
        this.i += word.length;
        return true;
      }
    }
    return false;
  }

  /** An object's key and its colon. */
  key(): boolean {
    this.skipSpace();
    if (!this.string()) return false;
    this.skipSpace();
    if (this.b[this.i] !== 0x3a) return false;
    this.i++;
    return true;
  }
}

/** Whether `body` is one JSON value (Go's json.Valid: an empty body is not). */
export function isJson(body: Buffer): boolean {
  const s = new Scanner(body);
  const stack = new Uint8Array(MAX_JSON_DEPTH);
  let depth = 0;
  let wantValue = true;
  for (;;) {
    s.skipSpace();
    const c = body[s.i];
    if (wantValue) {
      if (c === 0x7b || c === 0x5b) {
        if (depth === MAX_JSON_DEPTH) return false;
        stack[depth++] = c === 0x7b ? OBJECT : ARRAY;
        s.i++;
        s.skipSpace();
        if (body[s.i] === (c === 0x7b ? 0x7d : 0x5d)) {
          s.i++;
          depth--;
          wantValue = false;
        } else if (c === 0x7b && !s.key()) return false;
        continue;
      }
      const ok = c === QUOTE ? s.string() : c === 0x2d || isDigit(c) ? s.number() : s.literal();
      if (!ok) return false;
      wantValue = false;
      continue;
    }
    if (depth === 0) return s.i === body.length;
    const top = stack[depth - 1];
    if (c === 0x2c) {
      s.i++;
      if (top === OBJECT && !s.key()) return false;
      wantValue = true;
    } else if ((c === 0x5d && top === ARRAY) || (c === 0x7d && top === OBJECT)) {
      s.i++;
      depth--;
    } else return false;
  }
}
