// The Node instance alone: the real bridge (dist/runtimes/node/bridge.js of a build root) driven over
// its protocol socket by this process as the platform would drive it, with `concurrency` INVOKEs of the
// bench's hello always in flight. No gateway, no HTTP, no sandbox: the instance's CPU per invocation
// (utime+stime of the bridge process, all its threads) and the time from INVOKE to RESULT as this
// driver sees it. Variants run side by side (one bridge each) in alternating batches; medians printed.
//
//   node bench/experiments/instance-cpu/drive.mjs <rounds> <invocations> name=root[:flag,flag...] ...
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [roundsArg, countArg, ...specs] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 7);
const count = Number(countArg ?? 40_000);
const concurrency = Number(process.env.CONCURRENCY ?? 32);
const memoryMb = Number(process.env.MEMORY_MB ?? 256);
const TICK_US = 1e4;

const codeDir = mkdtempSync(path.join(os.tmpdir(), 'skiff-drive-'));
// HANDLER=timer: the hello answers after a timer of 1 ms, so the answers of the calls read together
// come from separate callbacks (as answers after I/O do), not from one
const wait = process.env.HANDLER === 'timer' ? 'await new Promise((r) => setTimeout(r, 1)); ' : '';
writeFileSync(
  path.join(codeDir, 'index.mjs'),
  `export default async () => { ${wait}return new Response('Hello, world!\\n', { headers: { 'content-type': 'text/plain' } }); };\n`,
);

function ticks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
/** Write system calls the process made so far (/proc/<pid>/io `syscw`: one per socket write). */
function writes(pid) {
  return Number(/syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);
}
function rss(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}

async function startBridge(name, root, flags) {
  const frames = await import(pathToFileURL(path.join(root, 'dist/src/executor/protocol/frames.js')).href);
  const { heapFlags } = await import(pathToFileURL(path.join(root, 'dist/src/languages/node-heap.js')).href);
  const args = [...heapFlags(memoryMb), '--experimental-detect-module', ...flags];
  const child = spawn(process.execPath, [...args, path.join(root, 'dist/runtimes/node/bridge.js')], {
    stdio: ['ignore', process.env.GC_LOG ? 'pipe' : 'inherit', 'inherit', 'pipe'],
    env: { PATH: process.env.PATH, NODE_ENV: 'production' },
  });
  const socket = child.stdio[3];
  // GC_LOG=1 with --trace-gc among the flags: scavenges and mark-compacts counted per batch
  const gc = { scavenges: 0, majors: 0, pauseMs: 0 };
  child.stdout?.setEncoding('utf8').on('data', (text) => {
    if (process.env.GC_LOG === 'print') process.stderr.write(text);
    for (const line of text.split('\n')) {
      const pause = /, ([\d.]+) \/ [\d.]+ ms/.exec(line);
      if (line.includes('Scavenge')) gc.scavenges++;
      else if (line.includes('Mark-Compact')) gc.majors++;
      else continue;
      if (pause) gc.pauseMs += Number(pause[1]);
    }
  });
  const decoder = new frames.FrameDecoder();
  const writer = new frames.FrameWriter(socket, 'turn');
  const b = { name, child, writer, gc, frames, sentAt: new Map(), onResult: undefined, ready: undefined };
  const ready = new Promise((resolve) => (b.ready = resolve));
  socket.on('data', (chunk) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.kind === frames.FrameKind.HELLO) {
        writer.send(frames.FrameKind.INIT, 0, {
          codeDir,
          handler: 'index.mjs',
          function: 'hello',
          version: 1,
          env: {},
          secrets: {},
        });
      } else if (frame.kind === frames.FrameKind.READY) b.ready();
      else if (frame.kind === frames.FrameKind.RESULT) b.onResult(frame.id);
      else if (frame.kind === frames.FrameKind.ERROR) throw new Error(JSON.stringify(frame.meta));
    }
  });
  await ready;
  return b;
}

let nextId = 1;
function invoke(b) {
  const id = nextId++;
  b.sentAt.set(id, performance.now());
  b.writer.send(
    b.frames.FrameKind.INVOKE,
    id,
    {
      invocationId: `01JF${String(id).padStart(22, '0')}`,
      method: 'GET',
      url: 'http://127.0.0.1:41234/hello',
      headers: [['host', '127.0.0.1:41234']],
      deadline: Date.now() + 30_000,
      trigger: 'http',
    },
    Buffer.alloc(0),
  );
}

/** Runs `n` invocations with `concurrency` in flight; resolves with the latencies (ms). */
function batch(b, n) {
  return new Promise((resolve) => {
    const latencies = [];
    let sent = 0;
    b.onResult = (id) => {
      latencies.push(performance.now() - b.sentAt.get(id));
      b.sentAt.delete(id);
      if (sent < n) {
        sent++;
        invoke(b);
      } else if (latencies.length === n) resolve(latencies);
    };
    for (; sent < Math.min(concurrency, n); sent++) invoke(b);
  });
}

const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const median = (xs) => q(xs, 0.5);

const bridges = [];
try {
  for (const spec of specs) {
    const name = spec.slice(0, spec.indexOf('='));
    const [root, flagList] = spec.slice(spec.indexOf('=') + 1).split(':');
    bridges.push(await startBridge(name, root, flagList ? flagList.split(',') : []));
  }
  for (const b of bridges) await batch(b, 20_000); // warm up (JIT, heap growth)
  if (process.env.SNAPSHOT) {
    // a heap snapshot of the first bridge taken under load (written into the function's folder)
    const b = bridges[0];
    setTimeout(() => b.child.kill('SIGUSR2'), 300);
    await batch(b, 60_000);
    await new Promise((r) => setTimeout(r, 5000));
    const { readdirSync, copyFileSync } = await import('node:fs');
    for (const f of readdirSync(codeDir))
      if (f.endsWith('.heapsnapshot')) copyFileSync(path.join(codeDir, f), process.env.SNAPSHOT);
  }
  const results = new Map(bridges.map((b) => [b.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < bridges.length; i++) {
      const b = bridges[(i + r) % bridges.length];
      const gcBefore = { ...b.gc };
      const before = ticks(b.child.pid);
      const writesBefore = writes(b.child.pid);
      const began = performance.now();
      const lat = await batch(b, count);
      const ms = performance.now() - began;
      const us = ((ticks(b.child.pid) - before) * TICK_US) / count;
      const perWrite = count / (writes(b.child.pid) - writesBefore);
      await new Promise((r) => setTimeout(r, 50)); // the last trace lines
      const gcPer1k = (k) => ((b.gc[k] - gcBefore[k]) * 1000) / count;
      results.get(b.name).push({
        scav: gcPer1k('scavenges'),
        major: gcPer1k('majors'),
        gcUs: gcPer1k('pauseMs'),
        us,
        perWrite,
        p50: q(lat, 0.5),
        p99: q(lat, 0.99),
        rate: count / (ms / 1000),
        rss: rss(b.child.pid),
      });
    }
  }
  console.log(
    `${rounds} rounds × ${count} invocations, ${concurrency} in flight, ${memoryMb} MiB heap flags; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
  );
  for (const [name, rs] of results) {
    const m = (k) => median(rs.map((x) => x[k]));
    console.log(
      `${name.padEnd(10)} CPU ${m('us').toFixed(2).padStart(6)} µs/inv  p50 ${m('p50').toFixed(2)} p99 ${m('p99').toFixed(2)} ms  ` +
        `GC per 1k: ${m('scav').toFixed(2)} scavenges ${m('major').toFixed(3)} majors ${m('gcUs').toFixed(1)} ms paused  ` +
        `${m('rate').toFixed(0)}/s  ${m('perWrite').toFixed(2)} inv/write  RSS ${m('rss').toFixed(1)} MiB  [${rs.map((x) => x.us.toFixed(1)).join(' ')}]`,
    );
  }
} finally {
  // end of file first: the bridge exits on its own (and writes a --cpu-prof profile), else it is killed
  for (const b of bridges) b.child.stdio[3].end();
  await new Promise((r) => setTimeout(r, 1000));
  for (const b of bridges) b.child.kill('SIGKILL');
  rmSync(codeDir, { recursive: true, force: true });
}
