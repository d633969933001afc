/**
 * The seccomp filter, attacked from inside real sandboxes: a Python function makes, through libc's
 * syscall(), the calls the filter denies (kernel keys, ptrace, the mount APIs, namespaces, bpf, perf,
 * userfaultfd, io_uring, modules, kexec, reboot, syslog, TIOCSTI, personality, AF_VSOCK and AF_KEY
 * sockets), with arguments that without the filter would succeed or fail otherwise; ordinary functions
 * keep working.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

const EPERM = 1;
const ENOSYS = 38;

describe('security: seccomp filter in every sandbox', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      syscalls: 'py-syscalls',
      flooder: 'py-syscalls',
      node: 'probe',
      python: 'py-echo',
      binary: 'bin-echo',
    });
  });
  afterAll(async () => {
    await p.stop();
  });

  const json = async (route: string) => {
    const res = await p.call(route);
    expect(res.status, route).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };

  it('denies every dangerous call: EPERM, and ENOSYS for clone3 (libc falls back to clone)', async () => {
    const results = (await json('/syscalls?do=all')) as Record<string, [number | string, number]>;
    expect(Object.keys(results).length).toBeGreaterThan(35);
    const wrong = Object.entries(results).filter(([name, [ret, errno]]) =>
      name === 'clone3' ? !(ret === -1 && errno === ENOSYS) : !(ret === -1 && errno === EPERM),
    );
    expect(wrong).toEqual([]);
  });

  it('a flood of add_key in one function gets EPERM every time, and so does the next function', async () => {
    const flood = (await json('/flooder?do=add_key&n=300')) as { results: [number, number][] };
    expect(flood.results).toHaveLength(300);
    expect(flood.results.every(([ret, errno]) => ret === -1 && errno === EPERM)).toBe(true);
    const other = (await json('/syscalls?do=add_key&n=1')) as { results: [number, number][] };
    expect(other.results).toEqual([[-1, EPERM]]);
  });

  it('denies socket and socketpair of AF_VSOCK (the VM host) and AF_KEY with EPERM; netlink and unix work', async () => {
    const results = (await json('/syscalls?do=sockets')) as Record<string, string>;
    for (const family of ['AF_VSOCK', 'AF_KEY'])
      for (const how of ['socket', 'socketpair'])
        expect(results[`${family} ${how}`], `${family} ${how}`).toBe('EPERM');
    // getifaddrs needs netlink; a netlink socket sees only the sandbox's own network namespace
    expect(results['AF_NETLINK socket']).toBe('ok');
    expect(results['AF_UNIX socket']).toBe('ok');
    expect(results['AF_UNIX socketpair']).toBe('ok');
    expect(results['AF_INET socket']).toBe('ok');
  });

  it('leaves ordinary functions working: threads and child processes, node, python and binaries', async () => {
    expect(await json('/syscalls?do=normal')).toMatchObject({ thread: ['thread'], child: 'child' });
    expect(await json('/node?do=status')).toMatchObject({ noNewPrivs: '1' });
    expect(await json('/python?x=1')).toMatchObject({ query: { x: '1' } });
    const bin = await p.call('/binary', { method: 'POST', body: 'hello' });
    expect(bin.status).toBe(200);
    expect(await bin.text()).toBe('hello');
  });

  it('is in force in the function’s process (Seccomp: 2, filter mode, in its status)', async () => {
    expect(await json('/node?do=status')).toMatchObject({ seccomp: '2', noNewPrivs: '1' });
  });
});

/**
 * Another system call ABI reaches other numbers: i386 calls (int 0x80) and x32 calls (number |
 * 0x40000000) from a 64-bit process would pass a filter that knew only x86_64's table. The filter kills
 * the process instead.
 */
const ABI_PROGRAM = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
  const char *q = getenv("QUERY_STRING");
  long ret;
  if (q != NULL && strstr(q, "do=i386") != NULL) {
    /* getpid is 20 in the i386 table */
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
  } else if (q != NULL && strstr(q, "do=x32") != NULL) {
    ret = syscall(0x40000000L | SYS_getpid);
  } else {
    ret = syscall(SYS_getpid);
  }
  printf("returned %ld\n", ret);
  return 0;
}
`;

const hasGcc = spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status === 0;

describe.runIf(process.arch === 'x64' && hasGcc)('security: seccomp and other system call ABIs', () => {
  let p: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await makeDataDir();
    await writeFile(path.join(dir, 'abi.c'), ABI_PROGRAM);
    execFileSync('gcc', ['-O0', '-o', path.join(dir, 'fn'), path.join(dir, 'abi.c')], { timeout: 60_000 });
    await writeFile(path.join(dir, 'skiff.json'), JSON.stringify({ runtime: 'binary' }));
    p = await startPlatform();
    expect((await p.deploy('abi', dir)).status).toBe(201);
  });
  afterAll(async () => {
    // p is unset when the compiler failed
    const started = p as TestPlatform | undefined;
    await started?.stop();
    if (started !== undefined) await removeDir(started.dataDir);
    await removeDir(dir);
  });

  it('kills a process that makes i386 (int 0x80) or x32 calls; native calls work', async () => {
    const native = await p.call('/abi?do=native');
    expect(native.status).toBe(200);
    expect(await native.text()).toMatch(/^returned \d+/);
    for (const abi of ['i386', 'x32']) {
      const res = await p.call(`/abi?do=${abi}`);
      const text = await res.text();
      expect(res.status, `${abi}: ${text}`).not.toBe(200);
      expect(text, abi).not.toContain('returned');
    }
  });
});
