import { describe, expect, it } from 'vitest';
import { listeningInodes } from '../../runtimes/http/listener-owner.js';
import { childPid, slirpArgs } from './private-net.js';

describe('private network', () => {
  it('reads the sandbox pid from bubblewrap’s info JSON only once it is complete and sane', () => {
    expect(childPid('{\n    "child-pid": 4321,\n    "net-namespace": 4026532247\n}')).toBe(4321);
    expect(childPid('{\n    "child-pid": 4321,')).toBeUndefined();
    expect(childPid('{"child-pid": "4321"}')).toBeUndefined();
    expect(childPid('{"child-pid": 1}')).toBeUndefined();
    expect(childPid('null')).toBeUndefined();
  });

  it('starts slirp4netns without the host loopback, sandboxed, on the pid’s network namespace', () => {
    const args = slirpArgs(77);
    expect(args).toContain('--disable-host-loopback');
    expect(args).toContain('--enable-sandbox');
    expect(args).toContain('--enable-seccomp');
    expect(args).toContain('--configure');
    expect(args.slice(-2)).toEqual(['/proc/77/ns/net', 'tap0']);
    expect(args.some((a) => a.startsWith('--enable-ipv6'))).toBe(false);
  });
});

describe('listeners of a port', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 111 1',
    '   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 222 1',
    '   2: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000 65534        0 333 1',
    '   3: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 444 1',
  ].join('\n');
  const tcp6 = [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 555 1',
  ].join('\n');

  it('are every listening socket on the port, on any address and family, and nothing else', () => {
    expect([...listeningInodes(8080, [tcp, tcp6])].sort()).toEqual(['111', '222', '555']);
    expect([...listeningInodes(80, [tcp, tcp6])]).toEqual(['444']);
    expect(listeningInodes(81, [tcp, tcp6]).size).toBe(0);
  });
});
