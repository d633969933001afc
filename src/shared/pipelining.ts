/**
 * HTTP/1.1 pipelining, bounded: node:http parses every request a client pipelines and hands each to
 * the app at once (it stops reading only when responses back up), so one connection that writes
 * thousands of requests and reads nothing starts thousands of invocations. Here the requests of one
 * connection run one at a time, in order (their responses go out in that order anyway); while one
 * runs, the connection is paused (requests already received still wait their turn); a client with
 * more than `maxWaiting` requests waiting is closed, unanswered.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Requests of one connection that may wait behind the one running. */
export const MAX_PIPELINED = 32;

interface Line {
  running: boolean;
  /** Whether this module paused the socket (and so resumes it). */
  paused: boolean;
  waiting: [IncomingMessage, ServerResponse][];
}

/** Wraps an HTTP app so that the requests of one connection run one at a time. */
export function oneRequestAtATime(app: RequestListener, maxWaiting = MAX_PIPELINED): RequestListener {
  const lines = new WeakMap<Socket, Line>();
  const run = (socket: Socket, line: Line, req: IncomingMessage, res: ServerResponse): void => {
    line.running = true;
    let done = false;
    const next = (): void => {
      if (done) return;
      done = true;
      line.running = false;
      if (socket.destroyed) {
        line.waiting = [];
        return;
      }
      const after = line.waiting.shift();
      if (after !== undefined) return run(socket, line, after[0], after[1]);
      if (line.paused) {
        line.paused = false;
        socket.resume();
      }
    };
    res.once('finish', next);
    res.once('close', next);
    void app(req, res);
  };
  return (req, res) => {
    const socket = req.socket;
    if (socket.destroyed) return;
    let line = lines.get(socket);
    if (line === undefined) {
      line = { running: false, paused: false, waiting: [] };
      lines.set(socket, line);
    }
    if (!line.running) return run(socket, line, req, res);
    if (line.waiting.length >= maxWaiting) {
      // deeper pipelining than any client needs: a flood; nothing of it is answered
      line.waiting = [];
      socket.destroy();
      return;
    }
    line.waiting.push([req, res]);
    if (!line.paused) {
      line.paused = true;
      socket.pause();
    }
  };
}
