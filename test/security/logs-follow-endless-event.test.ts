/**
 * Red team, `skiff logs -f` against a hostile platform (or whoever sits on a plain-http path to
 * it): an event that never ends (a `data:` line with no end, or data lines with no blank line) must
 * not grow the CLI's memory without bound. The CLI gives up on an event far longer than any log line
 * the platform writes (a line is at most about 17 KiB of text, about 100 KiB as JSON) and says so.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.js';

/** What the fake platform sends at most (when the client never gives up). */
const SEND_CAP = 48 * 1024 * 1024;
const CHUNK = 'x'.repeat(64 * 1024);

describe('skiff logs -f: an endless event from the platform', () => {
  let server: http.Server;
  let url: string;
  /** Bytes sent on the stream when the client closed it (or the cap was reached). */
  const sent: number[] = [];
  beforeAll(async () => {
    let first = true;
    server = http.createServer((req, res) => {
      if (!first || !(req.url ?? '').includes('follow=true')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'SKIFF_E_FUNCTION_NOT_FOUND', message: 'gone' } }));
        return;
      }
      first = false;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('retry: 1000\n\ndata: ');
      let bytes = 0;
      let closed = false;
      res.on('close', () => {
        if (!closed) sent.push(bytes);
        closed = true;
      });
      const pump = (): void => {
        while (!closed && bytes < SEND_CAP) {
          bytes += CHUNK.length;
          if (!res.write(CHUNK)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!closed) {
          closed = true;
          sent.push(bytes);
          res.end('\n\n');
        }
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gives up on the event, with an error, well before the platform stops sending', async () => {
    const r = await runCli(['logs', 'hostile', '-f'], cleanEnv({ SKIFF_URL: url, SKIFF_TOKEN: 't' }));
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/event over/);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeLessThan(16 * 1024 * 1024);
  }, 60_000);
});
