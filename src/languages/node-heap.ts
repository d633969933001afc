/**
 * V8's heap sized from a Node instance's memory limit. Without these flags V8 sizes its heap from the
 * machine's memory, which it sees through the sandbox: under load an instance's heap grew to 140–175 MB
 * (scavenging rarely, then long mark-compact pauses) until the cgroup's OOM killer ended it with calls
 * in flight. With them V8 collects before the process reaches its limit, and a handler that keeps too
 * much fails with a heap error of its own instead of taking its neighbours' calls down.
 *
 * - old generation: half the limit (at least 16 MiB): the rest holds the young generation, code,
 *   buffers outside the heap (request and response bodies, frames) and Node's own allocations;
 * - semi-space: the limit / 32, from 1 to 16 MiB (8 MiB at the default 256 MiB). The young generation
 *   is three of them; a smaller one scavenges more often, a larger one costs more memory and longer
 *   scavenges of what survives.
 */

/** Node's own option that names the old generation's size (a function may set it in NODE_OPTIONS). */
const OLD_SPACE = '--max-old-space-size';

/** The heap flags for a Node instance with `memoryMb` of memory. */
export function heapFlags(memoryMb: number): string[] {
  const oldSpace = Math.max(16, Math.floor(memoryMb / 2));
  const semiSpace = Math.min(16, Math.max(1, Math.floor(memoryMb / 32)));
  return [`${OLD_SPACE}=${oldSpace}`, `--max-semi-space-size=${semiSpace}`];
}

/**
 * The heap flags for a function: none of its own when its env sets NODE_OPTIONS with a heap size
 * (flags on the command line would override it), else those of its memory limit.
 */
export function functionHeapFlags(memoryMb: number, env: Readonly<Record<string, string>>): string[] {
  const options = env['NODE_OPTIONS'] ?? '';
  return heapFlags(memoryMb).filter((flag) => !options.includes(flag.slice(0, flag.indexOf('='))));
}
