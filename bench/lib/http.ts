import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  body: Buffer;
  /** From sending the request to the last byte of the answer. */
  ms: number;
}

/** One HTTP/1.1 request on a fresh connection (no agent, no pooling), bounded by `timeoutMs`. */
export function httpRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: init.headers ?? {},
        agent: false,
        timeout: init.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            ms: performance.now() - began,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${init.method ?? 'GET'} ${url} timed out`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Retries a GET until it answers 200 with `expect` in the body, or `timeoutMs` passes. */
export async function firstSuccess(url: string, expect: string, timeoutMs: number): Promise<HttpAnswer> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  while (performance.now() < deadline) {
    try {
      const answer = await httpRequest(url, { timeoutMs: Math.max(1, deadline - performance.now()) });
      if (answer.status === 200 && answer.body.toString().includes(expect)) return answer;
      last = `${answer.status} ${answer.body.toString().slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (last: ${last})`);
}
