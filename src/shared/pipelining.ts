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
  /** Runs the next request once the running one's response closed (one function per connection). */
  next: () => void;
}

/** node:http's own hold on a connection's socket: its parser reads the socket's handle directly. */
interface HttpSocket {
  _paused?: boolean;
  parser?: { pause(): void; resume(): void } | null;
}

/**
 * Stops reading a connection the way node:http does under backpressure: `_paused` makes it pause its
 * parser once the data in hand is parsed (socket.pause() alone does not stop a parser that consumes
 * the handle).
 */
function pauseReading(socket: Socket): void {
  (socket as unknown as HttpSocket)._paused = true;
  socket.pause();
}

function resumeReading(socket: Socket): void {
  const s = socket as unknown as HttpSocket;
  if (s._paused !== true) return; // node:http resumed it already (its output drained)
  s._paused = false;
  s.parser?.resume();
  socket.resume();
}

/**
 * Wraps an HTTP app so that the requests of one connection run one at a time. A response's `close`
 * (which node:http emits once per response: after its `finish`, or when the connection ends first)
 * starts the next; the listener is the connection's, so a request adds no closure of its own.
 */
export function oneRequestAtATime(app: RequestListener, maxWaiting = MAX_PIPELINED): RequestListener {
  const lines = new WeakMap<Socket, Line>();
  const run = (line: Line, req: IncomingMessage, res: ServerResponse): void => {
    line.running = true;
    res.on('close', line.next);
    void app(req, res);
  };
  const newLine = (socket: Socket): Line => {
    const line: Line = {
      running: false,
      paused: false,
      waiting: [],
      next: () => {
        if (!line.running) return;
        line.running = false;
        if (socket.destroyed) {
          line.waiting = [];
          return;
        }
        const after = line.waiting.shift();
        if (after !== undefined) return run(line, after[0], after[1]);
        if (line.paused) {
          line.paused = false;
          resumeReading(socket);
        }
      },
    };
    lines.set(socket, line);
    return line;
  };
  return (req, res) => {
    const socket = req.socket;
    if (socket.destroyed) return;
    const line = lines.get(socket) ?? newLine(socket);
    if (!line.running) return run(line, req, res);
    if (line.waiting.length >= maxWaiting) {
      // deeper pipelining than any client needs: a flood; nothing of it is answered
      line.waiting = [];
      socket.destroy();
      return;
    }
    line.waiting.push([req, res]);
    if (!line.paused) {
      line.paused = true;
      pauseReading(socket);
    }
  };
}
