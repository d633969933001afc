/**
 * How a response body appears in `--json` output: a JSON body as its parsed value, text as a string,
 * anything else as base64, with `bodyEncoding` saying which, so `skiff invoke f --json | jq .body.x`
 * works on JSON answers and binary answers survive the envelope.
 */

export type BodyEncoding = 'json' | 'utf8' | 'base64';

export interface EncodedBody {
  body: unknown;
  bodyEncoding: BodyEncoding;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A body for a JSON envelope, chosen by its content type and its bytes. */
export function encodeBody(bytes: Uint8Array, contentType: string | null | undefined): EncodedBody {
  const text = utf8Text(bytes);
  if (text === undefined) return { body: Buffer.from(bytes).toString('base64'), bodyEncoding: 'base64' };
  if (contentType != null && JSON_TYPE.test(contentType) && text.trim() !== '') {
    try {
      return { body: JSON.parse(text) as unknown, bodyEncoding: 'json' };
    } catch {
      // declared JSON but is not: keep the text as it came
    }
  }
  return { body: text, bodyEncoding: 'utf8' };
}
