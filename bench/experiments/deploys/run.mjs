// Deploys in a row, as the bench's density suite makes them (a new Node hello function each, PUT until
// 201), for several builds of Skiff alternated: each round starts every variant's `skiff serve` in turn
// with a fresh data directory, deploys `count` functions and stops it. Printed per run: deploys/s, the
// median and p90 of one deploy, the rate of the first and last fifth, CPU of the platform (utime+stime)
// and of its instances (reaped children's cutime+cstime plus the live ones), peak instances and memory
// (platform RSS + the instances' memory cgroup).
//
//   node bench/experiments/deploys/run.mjs <rounds> <count> name=root ...
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [roundsArg, countArg, ...specs] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 3);
const count = Number(countArg ?? 100);
const variants = specs.map((s) => {
  const [name, root] = s.split('=');
  return { name, root };
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const HZ = 100;

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      own: Number(f[11]) + Number(f[12]),
      children: Number(f[13]) + Number(f[14]),
    };
  } catch {
    return undefined;
  }
}
function rss(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return 0;
  }
}
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
/** CPU ticks of the live tree below `pid` (each process's own and reaped children's). */
function liveBelow(pid) {
  let sum = 0;
  for (const c of childrenOf(pid)) {
    const s = stat(c);
    if (s !== undefined) sum += s.own + s.children;
    sum += liveBelow(c);
  }
  return sum;
}
function cgMemory(pid) {
  // nested under the platform's own memory cgroup
  const own = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.includes(':memory:'));
  const where = own?.split(':')[2] ?? '/';
  try {
    return Number(
      readFileSync(
        path.join('/sys/fs/cgroup/memory', where, `skiff-${pid}`, 'memory.usage_in_bytes'),
        'utf8',
      ),
    );
  } catch {
    return 0;
  }
}
function instanceCount(pid) {
  const own = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.includes(':memory:'));
  const where = own?.split(':')[2] ?? '/';
  try {
    return readdirSync(path.join('/sys/fs/cgroup/memory', where, `skiff-${pid}`), {
      withFileTypes: true,
    }).filter((d) => d.isDirectory()).length;
  } catch {
    return childrenOf(pid).length;
  }
}

async function runOne(v) {
  const { packDirectory } = await import(pathToFileURL(path.join(v.root, 'dist/src/store/archive/pack.js')));
  const archive = await packDirectory(path.join(v.root, 'bench/functions/node'));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'skiff-deploys-'));
  const child = spawn(
    process.execPath,
    [
      ...(process.env.PLATFORM_FLAGS ? process.env.PLATFORM_FLAGS.split(' ') : []),
      path.join(v.root, 'bin/skiff.js'),
      'serve',
      '--data-dir',
      dataDir,
      '--control-port',
      '0',
      '--http-port',
      '0',
      '--http-host',
      '127.0.0.1',
      '--grpc-port',
      '0',
      '--coap-port',
      '0',
      '--mqtt-port',
      '0',
      '--log-level',
      process.env.LOG_LEVEL ?? 'warn',
    ],
    { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    if (out.length < 5e7) out += d;
  });
  child.stderr.on('data', (d) => {
    if (out.length < 5e7) out += d;
  });
  const ep = path.join(dataDir, 'endpoints.json');
  while (!existsSync(ep)) {
    if (child.exitCode !== null) throw new Error(out);
    await sleep(5);
  }
  await sleep(50);
  const { control } = JSON.parse(readFileSync(ep, 'utf8'));
  const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  await sleep(1500); // warm pool filled, start-up work done
  const pid = child.pid;
  const before = stat(pid);
  const beforeLive = liveBelow(pid);
  let peakMem = 0,
    peakInst = 0;
  const sampler = setInterval(() => {
    peakMem = Math.max(peakMem, rss(pid) + cgMemory(pid));
    peakInst = Math.max(peakInst, instanceCount(pid));
  }, 250);
  const ms = [];
  const began = performance.now();
  const fifth = Math.max(1, Math.floor(count / 5));
  const marks = [];
  for (let i = 0; i < count; i++) {
    if (i === fifth || i === count - fifth) marks.push(stat(pid).own);
    const t = performance.now();
    const res = await fetch(`${control}/v1/functions/f-${String(i).padStart(4, '0')}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
      body: archive,
    });
    const body = await res.text();
    if (res.status !== 201) throw new Error(`${res.status} ${body}`);
    ms.push(performance.now() - t);
  }
  const wall = (performance.now() - began) / 1000;
  clearInterval(sampler);
  const after = stat(pid);
  const afterLive = liveBelow(pid);
  const platformCpu = (((after.own - before.own) / HZ) * 1000) / count;
  const instCpu = (((after.children - before.children + afterLive - beforeLive) / HZ) * 1000) / count;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  if (process.env.KEEP_LOG) {
    (await import('node:fs')).writeFileSync(`/tmp/deploys-${v.name}-${Date.now()}.log`, out);
  }
  rmSync(dataDir, { recursive: true, force: true });
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const rate = (part) => part.length / (part.reduce((a, b) => a + b, 0) / 1000);
  const cpuFirst = (((marks[0] - before.own) / HZ) * 1000) / fifth;
  const cpuLast = (((after.own - marks[1]) / HZ) * 1000) / fifth;
  return {
    cpuFirst,
    cpuLast,
    wall,
    rate: count / wall,
    p50: q(0.5),
    p90: q(0.9),
    first: rate(ms.slice(0, fifth)),
    last: rate(ms.slice(-fifth)),
    platformCpu,
    instCpu,
    peakMem: peakMem / 2 ** 20,
    peakInst,
  };
}

const results = Object.fromEntries(variants.map((v) => [v.name, []]));
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) {
    const load = os.loadavg()[0].toFixed(1);
    const res = await runOne(v);
    results[v.name].push(res);
    console.log(
      `${v.name.padEnd(8)} round ${r} load ${load}: ${res.rate.toFixed(1)}/s, median ${res.p50.toFixed(0)} ms, p90 ${res.p90.toFixed(0)} ms, ` +
        `first fifth ${res.first.toFixed(1)}/s, last fifth ${res.last.toFixed(1)}/s, CPU per deploy platform ${res.platformCpu.toFixed(1)} ms (first fifth ${res.cpuFirst.toFixed(1)}, last ${res.cpuLast.toFixed(1)}) instances ${res.instCpu.toFixed(1)} ms, peak ${res.peakInst} instances ${res.peakMem.toFixed(0)} MiB`,
    );
  }
}
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
for (const v of variants) {
  const rs = results[v.name];
  const f = (k, d = 1) =>
    `${med(rs.map((x) => x[k])).toFixed(d)} [${Math.min(...rs.map((x) => x[k])).toFixed(d)}-${Math.max(...rs.map((x) => x[k])).toFixed(d)}]`;
  console.log(
    `${v.name}: rate ${f('rate')}/s, p50 ${f('p50', 0)}, p90 ${f('p90', 0)}, first ${f('first')}, last ${f('last')}, platform CPU ${f('platformCpu')} (first fifth ${f('cpuFirst')}, last ${f('cpuLast')}), instances CPU ${f('instCpu')}, peak MiB ${f('peakMem', 0)}, instances ${f('peakInst', 0)}`,
  );
}
