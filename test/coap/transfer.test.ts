/**
 * The CoAP trigger, transfer: block-wise transfers both ways, the payload limit, saturation,
 * malformed and repeated datagrams, and calls in progress at a stop.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent } from 'coap';
import { describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { hasCallInFlight } from '../helpers/function-status.js';
import { quietFor, waitUntil } from '../helpers/wait.js';
import {
  agentPerTest,
  coapCall,
  coapClient,
  datagram,
  exchange,
  json,
  KiB,
  MAX_PAYLOAD,
  platformForFile,
} from './setup.js';

describe('CoAP trigger', () => {
  let p: TestPlatform;
  let base: string;
  let agent: Agent;

  const logLines = async (name: string, marker: string) =>
    (await p.logs(name)).filter((l) => l.message.includes(marker)).length;

  platformForFile(
    {
      echo: 'echo-cjs',
      'bin-echo': 'bin-echo',
      'respond-as': 'respond-as',
    },
    (started) => ({ p, base } = started),
  );
  agentPerTest((a) => (agent = a));

  it('moves 8 KiB of random bytes block-wise both ways, running the function once', async () => {
    const bytes = randomBytes(8 * KiB);
    const file = path.join(p.dataDir, 'in-8k.bin');
    await writeFile(file, bytes);
    const before = await logLines('bin-echo', 'echo-marker POST /blocks');
    const cli = await coapClient(p.dataDir, ['-m', 'post', '-f', file, `${base}/bin-echo/blocks`]);
    expect(cli.response?.code).toBe('2.05');
    expect(cli.response?.options).toMatch(/Block2:7\/_\/1024/);
    expect(cli.payload.equals(bytes)).toBe(true);

    // the coap package's client, with Block1 of 1024 bytes
    const node = await coapCall(agent, base, '/bin-echo/blocks', {
      method: 'PUT',
      payload: bytes,
      options: { Block1: Buffer.from([6]) },
    });
    expect(node.code).toBe('2.05');
    expect(node.payload.equals(bytes)).toBe(true);

    // and smaller blocks than the server's (libcoap -b 256)
    const small = await coapClient(p.dataDir, [
      '-m',
      'post',
      '-b',
      '256',
      '-f',
      file,
      `${base}/bin-echo/blocks`,
    ]);
    expect(small.payload.equals(bytes)).toBe(true);

    // each request ran the function once, not once per block
    await waitUntil(
      'both requests to run',
      async () => (await logLines('bin-echo', 'echo-marker POST /blocks')) >= before + 2,
      3_000,
    );
    await quietFor(200, 'no further run for a later block');
    expect(await logLines('bin-echo', 'echo-marker POST /blocks')).toBe(before + 2);
  });

  it('sends a large response to a GET block-wise from one invocation', async () => {
    const cli = await coapClient(p.dataDir, ['-m', 'get', `${base}/respond-as?body=y&repeat=${5 * KiB}`]);
    expect(cli.payload.toString()).toBe('y'.repeat(5 * KiB));
    const file = path.join(p.dataDir, 'in-text.txt');
    await writeFile(file, 'z'.repeat(6 * KiB));
    const echoed = await coapClient(p.dataDir, [
      '-m',
      'post',
      '-t',
      'text/plain',
      '-f',
      file,
      `${base}/echo/big`,
    ]);
    // one JSON document: every block came from the same invocation
    expect(JSON.parse(echoed.payload.toString())).toMatchObject({ body: 'z'.repeat(6 * KiB), path: '/big' });
  });

  it('refuses a payload over coap.maxPayloadBytes with 4.13 and Size1, before the function runs', async () => {
    const file = path.join(p.dataDir, 'in-16k.bin');
    await writeFile(file, randomBytes(16 * KiB));
    const before = await logLines('echo', 'echo called POST /too-big');
    const cli = await coapClient(p.dataDir, ['-m', 'post', '-f', file, `${base}/echo/too-big`]);
    expect(cli.response).toMatchObject({ code: '4.13' });
    expect(cli.response?.options).toContain(`Size1:${MAX_PAYLOAD}`);
    expect(cli.stderr).toContain('4.13 SKIFF_E_PAYLOAD_TOO_LARGE');

    const node = await coapCall(agent, base, '/echo/too-big', {
      method: 'POST',
      payload: randomBytes(MAX_PAYLOAD + 1),
      options: { Block1: Buffer.from([6]) },
    });
    expect(node.code).toBe('4.13');
    expect(node.headers['Size1']).toBe(MAX_PAYLOAD);

    // exactly the limit is fine
    const fits = await coapCall(agent, base, '/bin-echo', {
      method: 'POST',
      payload: Buffer.alloc(MAX_PAYLOAD, 7),
      options: { Block1: Buffer.from([6]) },
    });
    expect(fits.code).toBe('2.05');
    expect(fits.payload.length).toBe(MAX_PAYLOAD);
    await quietFor(200, 'a refused upload must not run the function, not even late');
    expect(await logLines('echo', 'echo called POST /too-big')).toBe(before);
  });

  it('answers 5.03 with Max-Age when the function is saturated', async () => {
    const deployed = await p.deploy('busy', fixture('sleepy'), '?maxInstances=1&concurrency=1&maxQueue=0');
    expect(deployed.status).toBe(201);
    expect((await coapCall(agent, base, '/busy')).code).toBe('2.05'); // warm
    const slow = coapCall(agent, base, '/busy?ms=2500');
    await waitUntil('the slow call to run', () => hasCallInFlight(p, 'busy'), 5_000);
    const other = new Agent({ type: 'udp4' });
    const refused = await coapCall(other, base, '/busy').finally(() => other.close());
    expect(refused.code).toBe('5.03');
    expect(refused.headers['Max-Age']).toBe(1);
    expect(refused.payload.toString()).toMatch(/^SKIFF_E_TOO_MANY_REQUESTS: /);

    const cli = await coapClient(p.dataDir, ['-m', 'get', `${base}/busy`]);
    expect(cli.response).toMatchObject({ code: '5.03' });
    expect(cli.response?.options).toContain('Max-Age:1');

    const done = await slow;
    expect(done.code).toBe('2.05');
    expect(json(done)).toMatchObject({ version: 1 });
  });

  it('answers a ping with a reset, refuses unknown critical options, and survives garbage', async () => {
    const ping = Buffer.from([0x40, 0x00, 0x12, 0x34]); // an empty Confirmable message
    const garbage = [
      Buffer.from([0xff, 0x00, 0x12]), // version 3
      Buffer.from([0x40, 0x01]), // shorter than a header
      Buffer.from([0x4f, 0x01, 0x00, 0x01]), // token length 15
      Buffer.from([0x50, 0x01, 0x00, 0x01, 0xf0]), // option delta 15 without a payload marker
    ];
    const received = await exchange(base, [...garbage, ping], 300);
    expect(received.map((m) => [...m])).toEqual([[0x70, 0x00, 0x12, 0x34]]);

    // option 2055 is odd: critical, and unknown
    const cli = await coapClient(p.dataDir, ['-m', 'get', '-O', '2055,x', `${base}/echo`]);
    expect(cli.response).toMatchObject({ code: '4.02' });
    expect((await coapCall(agent, base, '/echo')).code).toBe('2.05');
  });

  it('runs a retransmitted Confirmable request once', async () => {
    const marker = `dup-${randomBytes(4).toString('hex')}`;
    const request = datagram(true, 0x2345, Buffer.from([0xab]), [
      [11, 'echo'],
      [11, marker],
    ]);
    const replies = await exchange(base, [request, request, request], 800);
    const answers = replies.filter((m) => m[1] === 0x45); // 2.05
    expect(answers.length).toBeGreaterThanOrEqual(1);
    const payloads = new Set(answers.map((m) => m.subarray(m.indexOf(0xff) + 1).toString()));
    expect(payloads.size).toBe(1); // the same invocation each time
    expect(JSON.parse([...payloads][0] as string)).toMatchObject({ path: `/${marker}` });
    await quietFor(200, 'a repeated request must not run the function again, not even late');
    expect(await logLines('echo', `echo called GET /${marker}`)).toBe(1);
  });
});

describe('CoAP trigger stopping', () => {
  it('answers the calls in progress before it closes', async () => {
    const p = await startPlatform();
    const agent = new Agent({ type: 'udp4' });
    try {
      expect((await p.deploy('sleepy', fixture('sleepy'))).status).toBe(201);
      const base = p.server.endpoints['coap'] as string;
      const running = coapCall(agent, base, '/sleepy?ms=800');
      await waitUntil('the call to run', () => hasCallInFlight(p, 'sleepy'), 5_000);
      await p.stop();
      expect((await running).code).toBe('2.05');
    } finally {
      agent.close();
      await p.stop();
      await removeDir(p.dataDir);
    }
  });
});
