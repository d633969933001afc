/**
 * The deploy upload: a PUT (or POST) of the packed folder that follows the build as it runs. It asks
 * for the deploy's progress (`Accept: application/x-ndjson`, src/control/deploy/progress-stream.ts)
 * and passes each step and build line on as it comes; a platform that does not stream answers with
 * JSON, read as before. It uses node:http rather than fetch so that an answer the platform sends
 * while the upload is still going (a 413 over its limit) is read: the request's write error that
 * follows is not what the user needs to see.
 */
import http from 'node:http';
import https from 'node:https';
import { SkiffError } from '../shared/errors.js';
import { connectionError, errorFromStatus, skiffErrorFromBody, type SkiffClient } from './client.js';
import { withHint } from './output.js';

export interface DeployEvents {
  step(name: string): void;
  /** `cut`: a marker line, output was left out (not all of the build log was shown). */
  output(line: string, cut: boolean): void;
}

export interface DeployUpload {
  method: 'PUT' | 'POST';
  path: string;
  query: Record<string, string | number | undefined>;
  body: Buffer;
  contentType: string;
  events?: DeployEvents | undefined;
}

/** Characters of one line of the stream (the result, with its build log, is the longest), at most. */
export const MAX_LINE_CHARS = 8 * 1024 * 1024;
/** Characters of a JSON answer read, at most. */
const MAX_JSON_CHARS = 16 * 1024 * 1024;

export function sendDeploy<T>(
  client: SkiffClient,
  upload: DeployUpload,
): Promise<{ status: number; body: T }> {
  const url = new URL(client.controlUrl() + upload.path);
  for (const [key, value] of Object.entries(upload.query)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string | number> = {
    accept: upload.events === undefined ? 'application/json' : 'application/x-ndjson, application/json',
    'content-type': upload.contentType,
    'content-length': upload.body.length,
  };
  const token = client.token();
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = transport.request(url, { method: upload.method, headers, agent: false });
    req.on('response', (res) => {
      answered = true;
      readAnswer<T>(res, url, upload.events)
        .then(resolve, reject)
        .finally(() => req.destroy());
    });
    req.on('error', (err) => {
      // the platform answered, then closed the connection while the rest of the upload came
      if (answered) return;
      reject(uploadError(err, url, upload.body.length));
    });
    req.end(upload.body);
  });
}

function readAnswer<T>(
  res: http.IncomingMessage,
  url: URL,
  events: DeployEvents | undefined,
): Promise<{ status: number; body: T }> {
  const status = res.statusCode ?? 0;
  const type = (res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  res.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    const fail = (err: SkiffError): void => {
      res.destroy();
      reject(err);
    };
    if (status === 200 && type === 'application/x-ndjson') {
      let pending = '';
      let done = false;
      const onLine = (line: string): void => {
        if (done || line.trim() === '') return;
        const event = parseEvent(line);
        if (event === undefined) return;
        if (event.type === 'step' && typeof event.step === 'string') events?.step(event.step);
        else if (event.type === 'output' && typeof event.line === 'string')
          events?.output(event.line, event.cut === true);
        else if (event.type === 'result') {
          done = true;
          resolve({ status: typeof event.status === 'number' ? event.status : 200, body: event.body as T });
        } else if (event.type === 'error') {
          done = true;
          const error = skiffErrorFromBody(JSON.stringify({ error: event.error }));
          reject(error ?? new SkiffError('SKIFF_E_INTERNAL', `the deploy failed: ${line.slice(0, 200)}`));
        }
      };
      res.on('data', (chunk: string) => {
        const parts = (pending + chunk).split('\n');
        pending = parts.pop() ?? '';
        for (const part of parts) onLine(part);
        if (pending.length > MAX_LINE_CHARS) {
          fail(
            new SkiffError(
              'SKIFF_E_INTERNAL',
              `the platform at ${url.origin} sent a progress line over ${MAX_LINE_CHARS} characters`,
            ),
          );
        }
      });
      res.on('end', () => {
        onLine(pending);
        if (!done) fail(streamEnded(url));
      });
      res.on('error', () => {
        if (!done) fail(streamEnded(url));
      });
      return;
    }
    let text = '';
    res.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_JSON_CHARS) {
        fail(new SkiffError('SKIFF_E_INTERNAL', `the platform at ${url.origin} answered with too much`));
      }
    });
    res.on('error', () => fail(streamEnded(url)));
    res.on('end', () => {
      if (status >= 400) return reject(errorFromStatus(status, res.statusMessage ?? '', text, url));
      try {
        resolve({ status, body: (text === '' ? undefined : JSON.parse(text)) as T });
      } catch (cause) {
        reject(
          new SkiffError('SKIFF_E_INTERNAL', `the platform at ${url.origin} answered with invalid JSON`, {
            cause,
          }),
        );
      }
    });
  });
}

interface RawEvent {
  type?: unknown;
  step?: unknown;
  line?: unknown;
  cut?: unknown;
  status?: unknown;
  body?: unknown;
  error?: unknown;
}

function parseEvent(line: string): RawEvent | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? (parsed as RawEvent) : undefined;
  } catch {
    return undefined;
  }
}

function streamEnded(url: URL): SkiffError {
  return withHint(
    new SkiffError(
      'SKIFF_E_CLI_UNREACHABLE',
      `the connection to the Skiff platform at ${url.origin} ended before the deploy's result`,
    ),
    'the deploy may have finished anyway: see `skiff fn get <name>`',
  );
}

const CLOSED_MID_UPLOAD = new Set(['EPIPE', 'ECONNRESET']);

/**
 * A write error with no answer: the platform closed the connection while the upload was sent. One
 * that refuses an upload over its limit without reading it does that (an older platform), so that
 * is said rather than "cannot reach".
 */
function uploadError(err: Error, url: URL, bytes: number): SkiffError {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CLOSED_MID_UPLOAD.has(code)) {
    return withHint(
      new SkiffError(
        'SKIFF_E_CLI_UNREACHABLE',
        `the platform at ${url.origin} closed the connection while the upload (${(bytes / 1024 / 1024).toFixed(1)} MiB) was being sent, without an answer (${code})`,
        { cause: err },
      ),
      "an upload over the platform's limit (build.maxUploadBytes) is the usual cause: leave large files and folders out with a .skiffignore; else check that the platform is running",
    );
  }
  return connectionError(err, url);
}
