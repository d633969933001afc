/**
 * The CoAP trigger (RFC 7252, UDP): `coap://host/<name>[/rest...]?query` invokes the function.
 * The `coap` package does the message layer (CON/NON, piggybacked and separate responses,
 * retransmission, duplicate detection, cutting a response into Block2 blocks); this adapter reads
 * each request packet before the package does (`_handle`), answers what needs no function (pings,
 * bad options, Block1 uploads in progress, blocks of a stored response), reassembles uploads itself
 * (see coap-blocks.ts for why), and maps Invocation ⇄ CoAP with coap-codes.ts.
 */
import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6, type AddressInfo } from 'node:net';
import { createServer, type CoapPacket, type IncomingMessage, type OutgoingMessage } from 'coap';
import type { Invocation } from '../model/invocation.js';
import { SkiffError, toSkiffError } from '../shared/errors.js';
import { FailureLog } from '../shared/failure-log.js';
import { BlockAssembler, ResponseStore, clientGroup } from './coap-blocks.js';
import { replyOfError, replyOfResult, type CoapReply } from './coap-reply.js';
import { invocationHeaders, readRequest, type CoapRequest } from './coap-request.js';
import type { RunningTrigger, TriggerAdapter, TriggerContext } from './types.js';
import { localUrl } from '../shared/urls.js';
import { bindHosts } from '../shared/listeners.js';

/** The largest block the `coap` package sends (its `maxPayloadSize`). */
const BLOCK_SIZE = 1024;
const MiB = 1024 * 1024;
/**
 * Uploads in progress over all clients (count, bytes); how long one may stall (5 s while it has sent
 * only its first blocks: a client mid-upload sends the next block at once) and last.
 */
const UPLOAD_LIMITS = {
  maxTransfers: 64,
  maxTotalBytes: 64 * MiB,
  startIdleMs: 5_000,
  idleMs: 30_000,
  lifetimeMs: 120_000,
};
/** Responses kept for their later blocks: how many, how many bytes in all, how long unasked. */
const RESPONSE_LIMITS = { maxEntries: 256, maxBytes: 64 * MiB, idleMs: 30_000 };
const PRUNE_EVERY_MS = 5_000;
/** How long stop() waits for invocations in progress to answer. */
const STOP_GRACE_MS = 5_000;
const SEND_SETTLE_MS = 50;

/** What the adapter decided for one request packet, before the `coap` package emits it. */
type Plan =
  | { kind: 'reply'; reply: CoapReply }
  /** A block of a stored response: the package cuts it out by the request's Block2 option. */
  | { kind: 'stored'; reply: CoapReply }
  | {
      kind: 'invoke';
      req: CoapRequest & { method: string };
      body: Buffer;
      confirmable: boolean;
      token: Buffer;
      /** Block1 option of the last block of an upload, echoed in the response. */
      block1Echo: Buffer | undefined;
      /** Where a response larger than one block is kept for its later blocks. */
      storeKey: string;
      blockSize: number;
      /** client/message id: a retransmission of this request while it runs is dropped. */
      exchange: string;
      /** The client's address (without its port): what the per-client caps count by. */
      address: string;
    };

/** The internals of the `coap` package's response this adapter touches. */
interface PackageResponse {
  _addCacheEntry: unknown;
}

function bind(sock: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) =>
      reject(
        new SkiffError(
          'SKIFF_E_CONFIG_INVALID',
          `the CoAP trigger cannot listen on udp ${host}:${port} (${err.message}); set coap.port (--coap-port, SKIFF_COAP_PORT) or coap.enabled: false`,
          { cause: err },
        ),
      );
    sock.once('error', fail);
    sock.bind(port, host, () => {
      sock.off('error', fail);
      resolve();
    });
  });
}

function stripOptions(packet: CoapPacket, names: string[]): void {
  packet.options = (packet.options ?? []).filter((o) => !names.includes(String(o.name)));
}

async function startCoapTrigger(ctx: TriggerContext): Promise<RunningTrigger> {
  const { config, logger } = ctx;
  const failures = new FailureLog(logger);
  const maxPayloadBytes = config.coap.maxPayloadBytes;
  // one client address: coap.maxTransfersPerClient uploads and as many kept responses, and
  // coap.maxBytesPerClient (at least one whole payload) for each; its oldest make way
  const perClient = {
    maxPerClient: config.coap.maxTransfersPerClient,
    maxClientBytes: Math.max(config.coap.maxBytesPerClient, maxPayloadBytes),
  };
  const uploads = new BlockAssembler({
    maxBytes: maxPayloadBytes,
    ...UPLOAD_LIMITS,
    ...perClient,
    maxTotalBytes: Math.max(UPLOAD_LIMITS.maxTotalBytes, perClient.maxClientBytes),
  });
  const responses = new ResponseStore({ ...RESPONSE_LIMITS, ...perClient });
  const plans = new WeakMap<CoapPacket, Plan>();
  const inFlight = new Set<string>();
  const pending = new Set<Promise<void>>();
  const waiting = new Set<OutgoingMessage>();
  let stopped = false;
  let closed = false;

  // `::` is dual-stack (IPv4 clients arrive as ::ffff:a.b.c.d), 0.0.0.0 on a machine without IPv6
  const host = bindHosts(config.coap.host)[0] ?? config.coap.host;
  const sock = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: false });
  await bind(sock, config.coap.port, host);
  const server = createServer();
  server.on('error', (err: Error) => logger.warn({ err }, 'CoAP socket error'));
  // The package answers a datagram it cannot parse with 5.00 sent to the right port on the wrong
  // host (its _sendError omits the address): malformed messages are dropped instead (RFC 7252 §4.2).
  server._sendError = (payload: Buffer) =>
    logger.debug({ reason: payload.toString() }, 'dropped a malformed CoAP message');

  const errorReply = (err: SkiffError, coapCode?: string): CoapReply =>
    replyOfError(err, maxPayloadBytes, coapCode);
  const reply = (r: CoapReply): Plan => ({ kind: 'reply', reply: r });

  /** Decides what a request packet gets; mutates its options so the package only does messaging. */
  const plan = (packet: CoapPacket, client: string, address: string): Plan => {
    const req = readRequest(packet);
    if (req.problem !== undefined) return reply(errorReply(req.problem.error, req.problem.coapCode));
    const method = req.method as string;
    const call = { ...req, method };
    const uri = `/${req.name}${req.path === '/' ? '' : req.path}?${req.query}`;
    const storeKey = `${client} ${method} ${uri}`;
    const payload = packet.payload ?? Buffer.alloc(0);
    const invoke = (body: Buffer, block1Echo?: Buffer): Plan => ({
      kind: 'invoke',
      req: call,
      body,
      confirmable: packet.confirmable === true,
      token: packet.token ?? Buffer.alloc(0),
      block1Echo,
      storeKey,
      blockSize: req.block2?.size ?? BLOCK_SIZE,
      exchange: `${client}/${packet.messageId ?? ''}`,
      address,
    });

    // A later block of a response: from the stored response, else computed again if that is safe.
    if (req.block2 !== undefined && req.block2.num > 0) {
      const stored = responses.get(storeKey);
      if (stored !== undefined) {
        if (req.block2.num >= Math.ceil(stored.body.length / req.block2.size) - 1) responses.delete(storeKey);
        return { kind: 'stored', reply: { ...stored, options: { ...stored.options } } };
      }
      if (method === 'GET' || method === 'FETCH') return invoke(payload);
      return reply(
        errorReply(
          new SkiffError(
            'SKIFF_E_INVALID_REQUEST',
            `block ${req.block2.num} of a response that is no longer kept; send the request again`,
          ),
          '4.08',
        ),
      );
    }

    if (req.block1 !== undefined) {
      if (req.block1.num === 0 && req.block1.more) {
        try {
          ctx.check(req.name); // refuse an upload to a missing function before it is sent
        } catch (err) {
          return reply(errorReply(toSkiffError(err)));
        }
      }
      const outcome = uploads.accept(
        `${storeKey} ${req.requestTag}`,
        address,
        req.block1,
        payload,
        req.size1,
      );
      if (outcome.kind === 'error') return reply(errorReply(outcome.error, outcome.coapCode));
      if (outcome.kind === 'continue')
        return reply({ code: '2.31', options: { Block1: outcome.echo }, body: Buffer.alloc(0) });
      return invoke(outcome.body, outcome.echo);
    }

    if (payload.length > maxPayloadBytes || (req.size1 !== undefined && req.size1 > maxPayloadBytes)) {
      return reply(
        errorReply(
          new SkiffError(
            'SKIFF_E_PAYLOAD_TOO_LARGE',
            `the request payload is larger than the limit of ${maxPayloadBytes} bytes`,
          ),
        ),
      );
    }
    return invoke(payload);
  };

  const original = server._handle.bind(server);
  server._handle = (packet: CoapPacket, rsinfo: AddressInfo): void => {
    if (closed) return;
    const code = packet.code ?? '';
    // Responses, ACKs and resets are the package's business (also while stopping: they end retransmissions).
    if (packet.ack === true || packet.reset === true || !code.startsWith('0.')) {
      original(packet, rsinfo);
      return;
    }
    if (stopped) return;
    // An empty Confirmable message is a ping: answer with a reset (RFC 7252 §4.3).
    if (code === '0.00') {
      if (packet.confirmable === true && packet.messageId !== undefined) {
        const mid = packet.messageId;
        sock.send(Buffer.from([0x70, 0, mid >> 8, mid & 0xff]), rsinfo.port, rsinfo.address);
      }
      return;
    }
    const client = `${rsinfo.address}:${rsinfo.port}`;
    if (packet.confirmable === true && inFlight.has(`${client}/${packet.messageId ?? ''}`)) return;
    let decided: Plan;
    try {
      // per-client caps: an IPv4 /24 or an IPv6 /48 is one client (a host can send from many addresses)
      decided = plan(packet, client, clientGroup(rsinfo.address));
    } catch (err) {
      logger.error({ err }, 'CoAP request not understood');
      decided = reply(errorReply(toSkiffError(err)));
    }
    // The package must not reassemble Block1 (by token) nor start observations; it cuts the
    // response into Block2 blocks when the request asks for one, so an answer of our own keeps no
    // Block2 option. FETCH without a Content-Format is answered here, not by the package.
    stripOptions(packet, decided.kind === 'reply' ? ['Block1', 'Block2', 'Observe'] : ['Block1', 'Observe']);
    if (code === '0.05' && !(packet.options ?? []).some((o) => o.name === 'Content-Format')) {
      packet.options = [...(packet.options ?? []), { name: 'Content-Format', value: Buffer.from([42]) }];
    }
    plans.set(packet, decided);
    original(packet, rsinfo);
  };

  const send = (res: OutgoingMessage, r: CoapReply): void => {
    try {
      res.code = r.code;
      for (const [name, value] of Object.entries(r.options)) res.setOption(name, value);
      res.end(r.body.length === 0 ? undefined : r.body);
    } catch (err) {
      logger.warn({ err }, 'a CoAP response could not be sent');
    }
  };

  const serve = async (p: Extract<Plan, { kind: 'invoke' }>, res: OutgoingMessage): Promise<void> => {
    const id = randomUUID();
    const inv: Invocation = {
      id,
      function: p.req.name,
      trigger: 'coap',
      method: p.req.method,
      path: p.req.path,
      query: p.req.query,
      headers: invocationHeaders(p.req, p.confirmable, p.token),
      body: p.body,
      deadline: 0,
      host: p.req.host ?? endpointHost,
    };
    let answer: CoapReply;
    try {
      answer = replyOfResult(await ctx.invoke(inv), p.req.method, maxPayloadBytes);
    } catch (err) {
      const error = toSkiffError(err);
      failures.failed(error, err, { invocationId: id }, 'invocation failed');
      answer = errorReply(error);
    }
    if (answer.body.length > p.blockSize) responses.put(p.storeKey, answer, p.address);
    if (p.block1Echo !== undefined)
      answer = { ...answer, options: { ...answer.options, Block1: p.block1Echo } };
    if (!closed) send(res, answer);
  };

  server.on('request', (message: IncomingMessage, res: OutgoingMessage) => {
    res.on('error', (err: Error) => logger.debug({ err }, 'a CoAP response was not delivered'));
    // The package would keep every response of more than one block for 247 s, keyed by token.
    (res as unknown as PackageResponse)._addCacheEntry = () => undefined;
    const p = plans.get(message._packet);
    plans.delete(message._packet);
    if (p === undefined) {
      send(res, errorReply(new SkiffError('SKIFF_E_INTERNAL', 'internal error; see the platform log')));
      return;
    }
    if (p.kind !== 'invoke') {
      send(res, p.reply);
      return;
    }
    if (p.confirmable) inFlight.add(p.exchange);
    waiting.add(res);
    const done = serve(p, res).finally(() => {
      inFlight.delete(p.exchange);
      waiting.delete(res);
      pending.delete(done);
    });
    pending.add(done);
  });

  server.listen(sock);
  const address = sock.address();
  const endpointHost = new URL(localUrl('coap', address)).host;
  const pruner = setInterval(() => {
    uploads.prune();
    responses.prune();
  }, PRUNE_EVERY_MS);
  pruner.unref();
  logger.debug({ address }, 'CoAP trigger listening');

  return {
    endpoint: { name: 'coap', url: localUrl('coap', address) },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(pruner);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...pending]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
      // the last responses are sent asynchronously: let them leave before the socket closes
      await new Promise((resolve) => setTimeout(resolve, SEND_SETTLE_MS));
      // responses still waiting would send their empty ACK on a closed socket
      closed = true;
      for (const res of waiting) if (res._ackTimer !== null) clearTimeout(res._ackTimer);
      server.close();
      uploads.clear();
      responses.clear();
      await new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}

/** The CoAP trigger: on when `coap.enabled`, UDP `coap.host`:`coap.port` (5683). */
export const coap: TriggerAdapter = {
  enabled: (config) => config.coap.enabled,
  start: (ctx) => startCoapTrigger(ctx),
};
