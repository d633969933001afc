// Runs (A) bare Node, (B) the framed gateway, (C) connection handoff with the instance outside and inside
// bubblewrap, alternating systems, with wrk; reports req/s, latency and CPU µs per request of every
// process (gateway, instance, wrk). Usage: node run.mjs [rounds=3] [seconds=3] [modes=c32,c1,c32 close]
// [out=last-run.json]. Prints a Markdown table on stdout, one line per measurement on stderr.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

const here = new URL('.', import.meta.url).pathname;
const lua = new URL('../../wrk-report.lua', import.meta.url).pathname;
const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 3);
const tick = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const systems = [
  { name: 'A bare node', args: ['bare.mjs'] },
  { name: 'B framed gateway', args: ['framed-gateway.mjs'] },
  { name: 'C handoff', args: ['handoff-gateway.mjs'] },
  { name: 'C handoff bwrap', args: ['handoff-gateway.mjs', 'bwrap'] },
];
const allModes = [
  { name: 'c32', wrk: ['-c32'] },
  { name: 'c1', wrk: ['-c1'] },
  { name: 'c32 close', wrk: ['-c32', '-H', 'Connection: close'] },
];
const modes = process.argv[4]
  ? allModes.filter((m) => process.argv[4].split(',').includes(m.name))
  : allModes;
const outFile = process.argv[5] ?? 'last-run.json';

/** utime+stime in µs of one process (all its threads). */
function cpuUs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / tick;
  } catch {
    return 0;
  }
}

/** The pid and every descendant (through /proc/<pid>/task/<tid>/children). */
function tree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const kids = readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(' ').map(Number));
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

async function start(system) {
  const child = spawn(process.execPath, system.args, { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`${system.name} exited ${code}`)));
    setTimeout(() => reject(new Error(`${system.name} did not start`)), 10_000);
  });
  const { port } = JSON.parse(line);
  return { ...system, child, port, gateway: child.pid, instances: tree(child.pid).slice(1) };
}

/** Runs wrk under a shell that prints its own stat afterwards: cutime+cstime = wrk's CPU. */
function wrk(port, args, duration) {
  const cmd = `wrk -t1 -d${duration}s ${args.map((a) => `'${a}'`).join(' ')} -s '${lua}' http://127.0.0.1:${port}/ ; cat /proc/$$/stat`;
  const out = execFileSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const json = JSON.parse(
    out
      .split('\n')
      .find((l) => l.startsWith('WRKJSON '))
      .slice(8),
  );
  const statLine = out.trim().split('\n').at(-1);
  const f = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  json.wrkCpuUs = ((Number(f[13]) + Number(f[14])) * 1e6) / tick;
  return json;
}

function measure(sys, mode) {
  const before = { g: cpuUs(sys.gateway), i: sys.instances.reduce((s, p) => s + cpuUs(p), 0) };
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const r = wrk(sys.port, mode.wrk, seconds);
  const g = cpuUs(sys.gateway) - before.g;
  const i = sys.instances.reduce((s, p) => s + cpuUs(p), 0) - before.i;
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  const n = Math.max(r.requests, 1);
  return {
    system: sys.name,
    mode: mode.name,
    load,
    rps: (r.requests * 1e6) / r.durationUs,
    p50Ms: r.latencyUs.p50 / 1000,
    p99Ms: r.latencyUs.p99 / 1000,
    errors,
    gatewayUs: g / n,
    instanceUs: i / n,
    wrkUs: r.wrkCpuUs / n,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs, digits) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

/** Ratio of medians, then the range of the same-round ratios to bare Node. */
function ratios(rs, modeName) {
  const bareOf = (round) =>
    rows.find((r) => r.mode === modeName && r.round === round && r.system === systems[0].name)?.rps ?? NaN;
  const perRound = rs.map((r) => r.rps / bareOf(r.round));
  const bare = median(
    rows.filter((r) => r.mode === modeName && r.system === systems[0].name).map((r) => r.rps),
  );
  return `${(median(rs.map((r) => r.rps)) / bare).toFixed(2)} (${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)})`;
}

const started = [];
const rows = [];
try {
  for (const s of systems) started.push(await start(s));
  for (const s of started) wrk(s.port, ['-c32'], 1); // warm-up (JIT, connections)
  for (let round = 0; round < rounds; round++) {
    const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
    process.stderr.write(`round ${round + 1}: ${uptime}\n`);
    for (const mode of modes) {
      // Rotate the order each round so no system always runs first or last.
      const order = started.map((_, k) => started[(k + round) % started.length]);
      for (const sys of order) {
        const row = { round: round + 1, uptime, ...measure(sys, mode) };
        rows.push(row);
        process.stderr.write(
          `  ${row.system.padEnd(17)} ${row.mode.padEnd(9)} ${row.rps.toFixed(0).padStart(6)} req/s p50 ${row.p50Ms.toFixed(3)} p99 ${row.p99Ms.toFixed(3)} ms  gw ${row.gatewayUs.toFixed(1)} inst ${row.instanceUs.toFixed(1)} wrk ${row.wrkUs.toFixed(1)} µs/req  err ${row.errors}  load ${row.load}\n`,
        );
      }
    }
  }
  writeFileSync(
    `${here}${outFile}`,
    `${JSON.stringify({ date: new Date().toISOString(), rounds, seconds, rows }, null, 1)}\n`,
  );

  const lines = [
    '| system | mode | req/s | × bare | p50 ms | p99 ms | gateway µs/req | instance µs/req | wrk µs/req | CPU ceiling req/s |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const mode of modes) {
    for (const s of systems) {
      const rs = rows.filter((r) => r.mode === mode.name && r.system === s.name);
      const col = (k, d) =>
        fmt(
          rs.map((r) => r[k]),
          d,
        );
      // Two cores: total CPU per request bounds req/s at 2e6/(g+i+w); each single-threaded process at 1e6/its own.
      const g = median(rs.map((r) => r.gatewayUs));
      const i = median(rs.map((r) => r.instanceUs));
      const w = median(rs.map((r) => r.wrkUs));
      const ceiling = Math.min(2e6 / (g + i + w), 1e6 / Math.max(g, i, w));
      lines.push(
        `| ${s.name} | ${mode.name} | ${col('rps', 0)} | ${ratios(rs, mode.name)} | ${col('p50Ms', 3)} | ${col('p99Ms', 2)} | ${col('gatewayUs', 1)} | ${col('instanceUs', 1)} | ${col('wrkUs', 1)} | ${ceiling.toFixed(0)} |`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  for (const s of started) s.child.kill('SIGTERM');
}
