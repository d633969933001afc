"""
The exec bridge's spawner (runtimes/exec/spawner.ts is its other end): a small process that starts
the function's program for the bridge with vfork and exec (subprocess.Popen), so that a run costs a
vfork of this small process instead of a fork of the bridge's whole Node heap, and relays the
program's stdout, stderr and exit status back.

Frames both ways: kind (u8), run id (u32 BE), payload length (u32 BE), payload.
  in   RUN      payload: u32 BE length of a JSON {"argv": [...], "env": {...}}, the JSON, the stdin bytes
  out  HELLO    (kind 0, run 0) once, when it is ready
       STARTED  payload: the pid (ASCII); the program leads its own session and process group
       FAILED   payload: why it could not be started (UTF-8); the run is over
       STDOUT   payload: bytes the program wrote to stdout
       STDERR   payload: bytes the program wrote to stderr
       EXIT     payload: JSON {"code": n|null, "signal": "SIGx"|null} once the program was reaped
       CLOSED   empty: the program was reaped and its stdout and stderr are closed; the run is over
When a program exits, the spawner kills what it left in its process group; when its stdin ends (the
bridge is gone, however it went), it kills the group of every program still running, and ends.
Everything else (timeouts, cancels, the output cap) is the bridge's job: it kills groups by pid.
"""

import json
import os
import selectors
import signal
import struct
import subprocess
import sys

RUN = 1
STARTED, FAILED, STDOUT, STDERR, EXIT, CLOSED = 1, 2, 3, 4, 5, 6
HEADER = struct.Struct(">BII")
CHUNK = 65536

selector = selectors.DefaultSelector()
runs = {}


def send(kind, run_id, payload=b""):
    data = HEADER.pack(kind, run_id, len(payload)) + payload
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


class Run:
    def __init__(self, run_id, process, stdin, stdout, stderr, body):
        self.id = run_id
        self.process = process  # kept until reaped: Popen reaps what it forgets, behind our back
        pidfd = os.pidfd_open(process.pid)  # readable once the program exited, even if already
        self.open = 2
        self.reaped = False
        self.stdin = stdin
        self.pending = memoryview(body)
        selector.register(pidfd, selectors.EVENT_READ, (self, "pid"))
        selector.register(stdout, selectors.EVENT_READ, (self, STDOUT))
        selector.register(stderr, selectors.EVENT_READ, (self, STDERR))
        if len(body) == 0:
            self.close_stdin()
        else:
            os.set_blocking(stdin, False)
            selector.register(stdin, selectors.EVENT_WRITE, (self, "stdin"))

    def close_stdin(self):
        if self.stdin is None:
            return
        try:
            selector.unregister(self.stdin)
        except (KeyError, ValueError):
            pass
        os.close(self.stdin)
        self.stdin = None
        self.pending = memoryview(b"")

    def write_stdin(self):
        try:
            written = os.write(self.stdin, self.pending[:CHUNK])
        except BlockingIOError:
            return
        except OSError:  # the program does not read its stdin (EPIPE): nothing more to give it
            self.close_stdin()
            return
        self.pending = self.pending[written:]
        if not self.pending:
            self.close_stdin()

    def read(self, fd, kind):
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            send(kind, self.id, data)
            return
        selector.unregister(fd)
        os.close(fd)
        self.open -= 1
        self.finish()

    def reap(self, pidfd):
        selector.unregister(pidfd)
        os.close(pidfd)
        status = self.process.wait()
        if status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = str(-status)
            outcome = {"code": None, "signal": name}
        else:
            outcome = {"code": status, "signal": None}
        self.reaped = True
        # whatever the program left running in its group ends with it, so its pipes close
        kill_group(self.process.pid)
        send(EXIT, self.id, json.dumps(outcome).encode())
        self.finish()

    def finish(self):
        if not self.reaped or self.open > 0:
            return
        self.close_stdin()
        runs.pop(self.id, None)
        send(CLOSED, self.id)


def kill_running():
    """The bridge is gone: no program it started may outlive it. Only the groups whose leader is not
    reaped yet: a reaped leader's pid may belong to anyone by now."""
    for run in runs.values():
        if not run.reaped:
            kill_group(run.process.pid)


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:  # gone already
        pass


def start(run_id, payload):
    (size,) = struct.unpack_from(">I", payload, 0)
    spec = json.loads(bytes(payload[4 : 4 + size]))
    body = bytes(payload[4 + size :])
    argv = spec["argv"]
    pipes = [os.pipe(), os.pipe(), os.pipe()]
    child_ends = [pipes[0][0], pipes[1][1], pipes[2][1]]
    try:
        # Popen uses vfork here, closes every other descriptor in the program and, unlike posix_spawn,
        # leaves no signal ignored that Node's spawn would not (SIGPIPE is back to its default)
        process = subprocess.Popen(
            argv,
            executable=argv[0],
            stdin=child_ends[0],
            stdout=child_ends[1],
            stderr=child_ends[2],
            env=spec["env"],
            start_new_session=True,
            restore_signals=True,
        )
    except (OSError, ValueError, TypeError) as err:
        for read_end, write_end in pipes:
            os.close(read_end)
            os.close(write_end)
        message = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        send(FAILED, run_id, message.encode())
        return
    for fd in child_ends:
        os.close(fd)
    send(STARTED, run_id, str(process.pid).encode())
    runs[run_id] = Run(run_id, process, pipes[0][1], pipes[1][0], pipes[2][0], body)


def main():
    os.set_blocking(0, False)
    buffer = bytearray()
    selector.register(0, selectors.EVENT_READ, (None, "control"))
    send(0, 0, b"spawner")  # hello: the bridge uses it once this arrives
    while True:
        for key, _ in selector.select():
            run, what = key.data
            if what == "control":
                try:
                    data = os.read(0, 1 << 20)
                except BlockingIOError:
                    continue
                if not data:
                    return
                buffer += data
                while len(buffer) >= HEADER.size:
                    kind, run_id, size = HEADER.unpack_from(buffer, 0)
                    if len(buffer) < HEADER.size + size:
                        break
                    payload = memoryview(bytes(buffer[HEADER.size : HEADER.size + size]))
                    del buffer[: HEADER.size + size]
                    if kind == RUN:
                        start(run_id, payload)
            elif what == "pid":
                run.reap(key.fd)
            elif what == "stdin":
                run.write_stdin()
            else:
                run.read(key.fd, what)


if __name__ == "__main__":
    try:
        os.pidfd_open(os.getpid())  # Linux 5.3 and Python 3.9 or newer; else the bridge spawns itself
    except (AttributeError, OSError):
        sys.exit(3)
    try:
        main()
    except BrokenPipeError:  # the bridge is gone while this wrote to it
        pass
    finally:
        kill_running()
