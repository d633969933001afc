// Instance CPU per request and p99 of the Node hello at 32 connections, for several variants at once:
// each variant is its own `skiff serve` (a build root and extra flags for the instance's Node, through
// a wrapper set as runtimes.node), all up at the same time; wrk loads them in turns, the order rotating
// between rounds, and the medians over rounds are printed.
//
//   node bench/experiments/instance-cpu/run.mjs <rounds> <seconds> name=root[:flag,flag...] ...
//
// e.g. `... 7 3 base=/tmp/base now=/work/wt/x semi16=/work/wt/x:--max-semi-space-size=16`.
// CPU: utime+stime from /proc/<pid>/stat of the platform and of every process below it (the instance).
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [roundsArg, secondsArg, ...specs] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 5);
const seconds = Number(secondsArg ?? 3);
const TICK = 1e6 / 100; // µs per clock tick (USER_HZ 100)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function children() {
  const map = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      const ticks = Number(fields[11]) + Number(fields[12]);
      map.set(Number(name), { ppid, ticks });
    } catch {
      // the process ended meanwhile
    }
  }
  return map;
}
function cpu(root) {
  const map = children();
  const own = map.get(root)?.ticks ?? 0;
  let below = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop();
    for (const [child, info] of map) {
      if (info.ppid !== pid) continue;
      below += info.ticks;
      stack.push(child);
    }
  }
  return { own, below };
}

/** A sh wrapper that inserts `flags` right before the bridge's script (after the platform's flags). */
const WRAPPER = (flags) => `#!/bin/sh
for a in "$@"; do shift; case "$a" in *bridge.js) set -- "$@" ${flags.join(' ')} "$a";; *) set -- "$@" "$a";; esac; done
exec ${process.execPath} "$@"
`;

async function startPlatform(name, root, flags) {
  const scratch = mkdtempSync(path.join(os.tmpdir(), `skiff-icpu-${name}-`));
  chmodSync(scratch, 0o755);
  mkdirSync(path.join(scratch, 'bin'), { mode: 0o755 });
  mkdirSync(path.join(scratch, 'data'));
  const wrapper = path.join(scratch, 'bin', 'node');
  // the platform's own flags (heap size ...) come first in "$@"; later flags win, so extra ones go last
  // before the script: the wrapper puts them after the platform's flags by splitting at bridge.js
  writeFileSync(wrapper, WRAPPER(flags), { mode: 0o755 });
  const config = path.join(scratch, 'skiff.config.json');
  writeFileSync(config, JSON.stringify({ runtimes: { node: wrapper } }));
  const dataDir = path.join(scratch, 'data');
  const args = [path.join(root, 'bin', 'skiff.js'), 'serve', '--data-dir', dataDir, '--config', config];
  for (const p of ['--control-port', '--http-port', '--grpc-port', '--coap-port', '--mqtt-port'])
    args.push(p, '0');
  args.push('--http-host', '127.0.0.1', '--log-level', 'warn');
  const child = spawn(process.execPath, args, { cwd: dataDir, stdio: ['ignore', 'ignore', 'inherit'] });
  const endpoints = path.join(dataDir, 'endpoints.json');
  for (let i = 0; i < 3000 && !existsSync(endpoints); i++) await sleep(10);
  await sleep(50);
  const { control, http } = JSON.parse(readFileSync(endpoints, 'utf8'));
  const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  const { packDirectory } = await import(
    pathToFileURL(path.join(root, 'dist/src/store/archive/pack.js')).href
  );
  const archive = await packDirectory(path.join(root, 'bench/functions/node'));
  const put = await fetch(`${control}/v1/functions/hello`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
    body: archive,
    signal: AbortSignal.timeout(60_000),
  });
  if (!put.ok) throw new Error(`${name}: deploy ${put.status} ${await put.text()}`);
  const url = `${http}/hello`;
  const first = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if ((await first.text()) !== 'Hello, world!\n') throw new Error(`${name}: bad answer`);
  return { name, child, scratch, url };
}

function wrk(url, s) {
  const out = execFileSync('wrk', ['-t1', '-c32', `-d${s}s`, '--latency', url], {
    encoding: 'utf8',
    timeout: (s + 10) * 1000,
  });
  const reqs = Number(/(\d+) requests in/.exec(out)[1]);
  const p = (q) => {
    const m = new RegExp(`${q}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]];
  };
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return { reqs, p50: p(50), p99: p(99), errors: non2xx ? Number(non2xx[1]) : 0 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const platforms = [];
try {
  for (const spec of specs) {
    const name = spec.slice(0, spec.indexOf('='));
    const [root, flagList] = spec.slice(spec.indexOf('=') + 1).split(':');
    platforms.push(await startPlatform(name, root, flagList ? flagList.split(',') : []));
  }
  for (const p of platforms) wrk(p.url, 2); // warm up
  const results = new Map(platforms.map((p) => [p.name, []]));
  for (let r = 0; r < rounds; r++) {
    const order = platforms.map((_, i) => platforms[(i + r) % platforms.length]);
    for (const p of order) {
      const before = cpu(p.child.pid);
      const w = wrk(p.url, seconds);
      const after = cpu(p.child.pid);
      results.get(p.name).push({
        ...w,
        rps: w.reqs / seconds,
        gw: ((after.own - before.own) * TICK) / w.reqs,
        inst: ((after.below - before.below) * TICK) / w.reqs,
      });
    }
  }
  const load = readFileSync('/proc/loadavg', 'utf8').trim();
  console.log(`rounds ${rounds} × ${seconds} s, c=32; loadavg after: ${load}`);
  for (const [name, rs] of results) {
    const m = (k) => median(rs.map((x) => x[k]));
    const all = (k, d) => rs.map((x) => x[k].toFixed(d)).join(' ');
    console.log(
      `${name.padEnd(12)} req/s ${m('rps').toFixed(0).padStart(6)}  p50 ${m('p50').toFixed(2)} p99 ${m('p99').toFixed(2)} ms  ` +
        `CPU/req gateway ${m('gw').toFixed(1)} instance ${m('inst').toFixed(1)} µs  errors ${rs.reduce((a, x) => a + x.errors, 0)}` +
        `\n${' '.repeat(12)} inst [${all('inst', 1)}] p99 [${all('p99', 2)}]`,
    );
  }
} finally {
  for (const p of platforms) p.child.kill('SIGTERM');
  await sleep(1500);
  for (const p of platforms) {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(p.scratch, { recursive: true, force: true });
  }
}
