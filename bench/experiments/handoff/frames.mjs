// Length-prefixed frames for (B): [u32 length of what follows][u32 id][payload]. The writer queues
// frames and flushes them in one write() per event-loop turn (setImmediate), as the platform does.

export function frameWriter(socket) {
  let queue = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const out = queue.length === 1 ? queue[0] : Buffer.concat(queue);
    queue = [];
    socket.write(out);
  };
  return (id, payload) => {
    const frame = Buffer.allocUnsafe(8 + payload.length);
    frame.writeUInt32BE(4 + payload.length, 0);
    frame.writeUInt32BE(id, 4);
    payload.copy(frame, 8);
    queue.push(frame);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

export function frameReader(onFrame) {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (pending.length - at >= 4) {
      const length = pending.readUInt32BE(at);
      if (pending.length - at - 4 < length) break;
      onFrame(pending.readUInt32BE(at + 4), pending.subarray(at + 8, at + 4 + length));
      at += 4 + length;
    }
    pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
  };
}
