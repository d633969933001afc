import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { oneRequestAtATime } from './pipelining.js';
import { quietFor } from '../../test/helpers/wait.js';

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

describe('oneRequestAtATime', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const step of cleanup.splice(0)) step();
  });

  /** A server whose app answers each request after `ms`; counts what node:http handed over. */
  async function serve(ms: number, maxWaiting?: number) {
    const state = { seen: 0, running: 0, most: 0, order: [] as string[] };
    const app = (req: IncomingMessage, res: ServerResponse): void => {
      state.running += 1;
      state.most = Math.max(state.most, state.running);
      state.order.push(req.url ?? '');
      setTimeout(() => {
        state.running -= 1;
        res.end(`ok ${req.url}\n`);
      }, ms);
    };
    const wrapped = oneRequestAtATime(app, maxWaiting);
    const server = createServer((req, res) => {
      state.seen += 1;
      wrapped(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const open = (): Promise<Socket> =>
      new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => undefined);
        cleanup.push(() => socket.destroy());
      });
    return { state, open };
  }

  it('runs the pipelined requests of a connection one at a time, in order, and reads no more meanwhile', async () => {
    const { state, open } = await serve(100);
    const socket = await open();
    let answers = '';
    socket.setEncoding('utf8').on('data', (d: string) => (answers += d));
    socket.write(GET('/1') + GET('/2') + GET('/3'));
    await expect.poll(() => state.seen).toBe(3);
    socket.write(GET('/4') + GET('/5'));
    // while the first three run, the next bytes are not parsed
    await quietFor(150, 'the next requests must not be parsed while the first three run');
    expect(state.seen).toBe(3);
    await expect.poll(() => (answers.match(/ok \//g) ?? []).length, { timeout: 3_000 }).toBe(5);
    expect(state.most).toBe(1);
    expect(state.order).toEqual(['/1', '/2', '/3', '/4', '/5']);
    expect(answers.indexOf('ok /1')).toBeLessThan(answers.indexOf('ok /5'));
  });

  it('closes a connection with more requests waiting than allowed, running none of the excess', async () => {
    const { state, open } = await serve(50, 4);
    const socket = await open();
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(GET('/flood').repeat(1_000));
    socket.resume(); // reads, so that it sees the close
    await closed;
    expect(state.order.length).toBe(1);
    // a well-behaved client is served meanwhile
    const other = await open();
    let answer = '';
    other.setEncoding('utf8').on('data', (d: string) => (answer += d));
    other.write(GET('/mine'));
    await expect.poll(() => answer).toContain('ok /mine');
  });
});
