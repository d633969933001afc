"""The Python bridge's threads for plain `def` handlers (docs/runtimes/python.md, "The handler").

A pool of up to `size` daemon threads taking work from one queue. A thread is started only when
work arrives and no thread is idle; a thread that finishes takes the next piece of work without
sleeping, so a burst of short calls is served by a few threads with few thread switches. Stdlib only.
"""

import queue
import threading


class Pool:
    def __init__(self, size, name, report):
        self._size = max(1, size)
        self._name = name
        self._report = report  # report(text): a line about a piece of work that raised
        self._queue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads = 0

    def submit(self, fn, *args):
        """Runs fn(*args) on a pool thread; fn should not raise (what it raises is reported)."""
        start = False
        with self._lock:
            if self._idle:
                self._idle -= 1
            elif self._threads < self._size:
                self._threads += 1
                start = True
        self._queue.put((fn, args))
        if start:
            name = "%s_%d" % (self._name, self._threads - 1)
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def _work(self):
        take = self._queue.get
        lock = self._lock
        while True:
            fn, args = take()
            try:
                fn(*args)
            except BaseException as err:  # noqa: B902  (the thread must live on)
                try:
                    self._report("pool work raised %s" % type(err).__name__)
                except BaseException:
                    pass
            fn = args = None
            with lock:
                self._idle += 1
