/**
 * The bench's report logic (no platform): `perf script` text folded into stacks with readable frame
 * names, pruning that keeps every sample, the compact form of a results file, the icicle chart drawn
 * from it, and the targets judged from a run's results.
 */
import { describe, expect, it } from 'vitest';
import {
  categoryOf,
  compactStacks,
  expandStacks,
  foldPerfScript,
  pruneFolded,
  type Folded,
} from '../bench/lib/folded.js';
import { ROOT } from '../bench/lib/paths.js';
import { compactPerfMap } from '../bench/lib/perf-map.js';
import { flameChart } from '../bench/report/flame.js';
import type { Results } from '../bench/report/results.js';
import { targets } from '../bench/report/targets.js';

const PERF = `node  6441 58836.383086:    1001001 cpu-clock:pppH:
\t    7fc467898da4 JS:*onData file://${ROOT}/dist/runtimes/shared/connection.js:142:11+0x1e4 (/tmp/perf-6441.map)
\t    7fc46784934f JS:^ file://${ROOT}/dist/runtimes/shared/connection.js:54:32+0x4f (/tmp/perf-6441.map)
\t    7fc46785aad5 JS:^emit node:events:471:44+0x855 (/tmp/perf-6441.map)
\t         14ac8a7 uv_run+0x187 (/usr/bin/node)

node  6441 58836.391410:    1001001 cpu-clock:pppH:
\tffffffff81000000 do_syscall_64+0x40 ([kernel.kallsyms])
\t         14ac8a7 uv_run+0x187 (/usr/bin/node)

node  6441 58836.392410:    1001001 cpu-clock:pppH:
\tffffffff81000000 do_syscall_64+0x40 ([kernel.kallsyms])
\t         14ac8a7 uv_run+0x187 (/usr/bin/node)

V8 Worker  6443 58836.393410:    1001001 cpu-clock:pppH:
\t          c494db v8::internal::Scavenger::ScavengeObject+0x12b (/usr/bin/node)
\t         deadbeef [unknown] (/usr/lib/x86_64-linux-gnu/libc.so.6)
`;

describe('bench profiles', () => {
  it('folds perf script blocks root first, with short frame names', () => {
    const folded = new Map(foldPerfScript(PERF));
    expect(
      folded.get(
        'node;uv_run;emit node:events:471;(anonymous) runtimes/shared/connection.js:54;onData runtimes/shared/connection.js:142',
      ),
    ).toBe(1);
    expect(folded.get('node;uv_run;do_syscall_64 [k]')).toBe(2);
    // the thread's name is the root; a frame without a symbol names its library
    expect(folded.get('V8 Worker;[unknown in libc.so.6];v8::internal::Scavenger::ScavengeObject')).toBe(1);
  });

  it('classifies leaves: kernel, GC anywhere on the stack, JavaScript, Node internals', () => {
    expect(categoryOf('node;uv_run;do_syscall_64 [k]')).toBe('kernel');
    expect(categoryOf('V8;v8::internal::Scavenger::ScavengeObject;memmove')).toBe('GC');
    expect(categoryOf('node;onData runtimes/shared/connection.js:142')).toBe('JavaScript');
    expect(categoryOf('node;emit node:events:471')).toBe('Node internals');
    expect(categoryOf('node;uv_run')).toBe('V8 and native');
  });

  it('prunes small frames into their callers without losing samples, and round-trips the compact form', () => {
    const folded: Folded = [
      ['node;a;b', 600],
      ['node;a;c', 1],
      ['node;d', 399],
    ];
    const pruned = new Map(pruneFolded(folded, 0.01));
    expect(pruned.get('node;a;b')).toBe(600);
    expect(pruned.get('node;a')).toBe(1); // c's sample is a's own now
    expect(pruned.has('node;a;c')).toBe(false);
    expect([...pruned.values()].reduce((a, b) => a + b, 0)).toBe(1000);
    const compact = compactStacks([...pruned.entries()]);
    expect(compact.frames).toEqual(['node', 'a', 'b', 'd']);
    expect(new Map(expandStacks(compact))).toEqual(pruned);
  });

  it('draws one box per frame, as wide as its samples, with escaped names', () => {
    const svg = flameChart({
      title: 'test <chart>',
      subtitle: 'sub',
      folded: [
        ['node;uv_run;a<b>', 3],
        ['node;uv_run;c', 1],
      ],
      totalUs: 40,
    });
    expect(svg).toContain('test &lt;chart&gt;');
    // the whole width (1180 px) is all samples; a<b> is three quarters of it, 30 µs of 40
    expect(svg).toMatch(
      /<title>a&lt;b&gt; — 30\.0 µs\/request \(75\.0 %\)<\/title><rect x="10\.0" y="\d+" width="884\.5"/,
    );
    expect(svg).toContain('c — 10.0 µs/request (25.0 %)');
  });
});

describe('bench targets', () => {
  const fail = { ok: false, seconds: 0, error: 'skipped (--only)' } as const;
  const run = (rps: number, p99Ms: number, deployed: number) =>
    ({
      mode: 'full',
      startedAt: '2026-12-07T00:00:00.000Z',
      throughput: {
        ok: true,
        seconds: 1,
        result: {
          summary: [{ system: 'skiff-node', connections: 32, p99Ms }],
          ratios: [{ name: 'Skiff node / bare Node', connections: 32, rps, p50: 1, p99: 1 }],
          runs: [],
        },
      },
      coldStart: fail,
      memory: fail,
      scale: {
        ok: true,
        seconds: 1,
        result: {
          deployed,
          rssWithAll: 100 * 1024 * 1024,
          deploysPerSecond: 20,
          restart: { startMs: { median: 900 } },
        },
      },
    }) as unknown as Results;

  it('judges each measured value against its target, shows the earlier run, and leaves partial runs unjudged', () => {
    const rows = targets(run(0.85, 7, 1000), run(0.2, 80, 1000));
    const row = (what: string) => rows.find((r) => r.what.startsWith(what));
    expect(row('warm Node hello, 32 connections: req/s')).toMatchObject({
      met: true,
      measured: '0.85×',
      before: '0.20×',
    });
    expect(row('warm Node hello, 32 connections: p99')).toMatchObject({ met: false, before: '80.00 ms' });
    expect(row('first call from zero, node, warm pool')).toMatchObject({ met: null, measured: 'n/a' });
    expect(row('platform with the burst')).toMatchObject({ met: true });
    expect(row('restart with all functions')).toMatchObject({ met: true });
    const partial = targets(run(0.85, 7, 86));
    expect(partial.find((r) => r.what.startsWith('platform with the burst'))).toMatchObject({
      met: null,
      measured: '100 MiB (partial)',
    });
  });
});

describe('JIT map compaction', () => {
  it('names every address after the newest entry covering it (freed code reused by newer code)', () => {
    const map = [
      '1000 100 JS:^ file:///m.js:1:1', // a module's top level, freed after it ran
      '1000 40 JS:*onData file:///c.js:142:11', // newer code where it was
      '1080 10 JS:^emit node:events:471:44', // newer still, inside the old range
      '2000 20 JS:*alone file:///a.js:1:2',
      '2010 20 JS:*later file:///b.js:3:4', // overlaps the end of the one before
      'not a map line',
    ].join('\n');
    expect(compactPerfMap(map).trim().split('\n')).toEqual([
      '1000 40 JS:*onData file:///c.js:142:11',
      '1040 40 JS:^ file:///m.js:1:1', // still named by the old entry where nothing newer lies
      '1080 10 JS:^emit node:events:471:44',
      '1090 70 JS:^ file:///m.js:1:1',
      '2000 10 JS:*alone file:///a.js:1:2',
      '2010 20 JS:*later file:///b.js:3:4',
    ]);
  });
});
