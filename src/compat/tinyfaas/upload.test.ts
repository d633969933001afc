import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { download } from './upload.js';

/** A loopback port with nothing listening on it (bound once, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('tinyFaaS /uploadURL download', () => {
  it('reports a failed connection without its cause (no port probing)', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/fn.zip`;
    const err = await download(url, 1024, { allowPrivate: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toBe(`cannot download ${url}: the connection failed`);
    expect(message).not.toMatch(/ECONN|EHOST|refused|connect /i);
  });
});
