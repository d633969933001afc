/**
 * An executor client as upstream's clients talk (JSON or multipart/form-data parameters, `authorization:
 * Bearer <secret>`), and the set-up of a platform with the Open Runtimes executor API on a free port.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Busboy } from '@fastify/busboy';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

export const SECRET = 'executor-secret-key';

export interface ExecutorPlatform {
  p: TestPlatform;
  /** The executor API's base URL (`http://127.0.0.1:<port>/v1`). */
  base: string;
  /** The storage root: `/storage/x` in a client's parameters is `<root>/storage/x`. */
  root: string;
  /** Packs fixture folder `dir` as upstream's tests do (`tar -czf code.tar.gz .`) to storage path `at`. */
  store(dir: string, at: string): void;
  call(
    method: string,
    route: string,
    params?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<Reply>;
  stop(): Promise<void>;
}

export interface CallOptions {
  /** Send the parameters as multipart/form-data (every value a string part, objects as JSON). */
  multipart?: boolean;
  headers?: Record<string, string>;
  /** The authorization header (default `Bearer <secret>`); null sends none. */
  auth?: string | null;
}

export interface Reply {
  status: number;
  headers: Headers;
  /** The body parsed as JSON when it is JSON, else as text. */
  json: unknown;
  text: string;
  bytes: Buffer;
}

function multipartBody(params: Record<string, unknown>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(params)) {
    if (Buffer.isBuffer(value)) form.append(name, new Blob([value]));
    else form.append(name, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  return form;
}

export async function startExecutor(
  section: Record<string, unknown> = {},
  config: Record<string, unknown> = {},
): Promise<ExecutorPlatform> {
  const p = await startPlatform({
    config: {
      ...config,
      compat: { openruntimes: { enabled: true, port: 0, secret: SECRET, ...section } },
    } as never,
  });
  const url = p.server.endpoints['openruntimes'];
  if (url === undefined) throw new Error('no openruntimes endpoint');
  const root = path.join(p.dataDir, 'openruntimes', 'storage');
  const base = `${url}/v1`;
  return {
    p,
    base,
    root,
    store(dir, at) {
      const target = path.join(root, at);
      mkdirSync(path.dirname(target), { recursive: true });
      execFileSync('tar', ['--exclude', 'code.tar.gz', '-czf', target, '.'], { cwd: dir });
    },
    async call(method, route, params = {}, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.auth !== null) headers['authorization'] = options.auth ?? `Bearer ${SECRET}`;
      let body: string | FormData | undefined;
      let query = '';
      if (method === 'GET') {
        const search = new URLSearchParams(params as Record<string, string>).toString();
        query = search === '' ? '' : `?${search}`;
      } else if (options.multipart === true) {
        body = multipartBody(params);
      } else {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(params);
      }
      const res = await fetch(`${base}${route}${query}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      const text = bytes.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, json, text, bytes };
    },
    stop: () => p.stop(),
  };
}

/** The fields of a multipart execution reply, each part's bytes (read by busboy, as a client would). */
export function multipartFields(reply: Reply): Promise<Record<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const out: Record<string, Buffer> = {};
    const parser = Busboy({
      headers: { 'content-type': reply.headers.get('content-type') ?? '' },
      isPartAFile: () => true,
    });
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        out[name] = Buffer.concat(chunks);
      });
    });
    parser.on('error', reject);
    parser.on('finish', () => resolve(out));
    parser.end(reply.bytes);
  });
}
