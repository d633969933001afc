/**
 * How guest-api.ts decodes and encodes the guest API's messages: what the host server and the
 * instance driver rely on (absent fields, unknown enum numbers, exact uint64, field 10).
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { guestApiServices, loadGuestApi } from './guest-api.js';

const { guestApiFunction, guestApiHost } = guestApiServices();
const method = (service: typeof guestApiHost, rpc: string) => {
  const found = service[rpc] as MethodDefinition<unknown, unknown> | undefined;
  if (found === undefined) throw new Error(`no ${rpc}`);
  return found;
};

describe('the EDGELESS guest API module', () => {
  it('loads both services of package edgeless_api with google.protobuf.Empty resolved', () => {
    const definition = loadGuestApi();
    expect(Object.keys(definition)).toContain('google.protobuf.Empty');
    expect(Object.keys(guestApiFunction)).toEqual(['Boot', 'Init', 'Cast', 'Call', 'Stop']);
    expect(method(guestApiHost, 'Slf').path).toBe('/edgeless_api.GuestAPIHost/Slf');
  });

  it('decodes a DelayedCast without metadata as null, and its delay exactly, as a decimal string', () => {
    const delayed = method(guestApiHost, 'DelayedCast');
    const bytes = delayed.requestSerialize({
      alias: 'self',
      msg: Buffer.from('x'),
      delay: '18446744073709551615',
    });
    expect(delayed.requestDeserialize(bytes)).toEqual({
      originator: null,
      alias: 'self',
      msg: Buffer.from('x'),
      delay: '18446744073709551615',
      metadata: null,
    });
    const withMetadata = delayed.requestSerialize({ metadata: { trace_id: Buffer.from([1]) } });
    expect(delayed.requestDeserialize(withMetadata)).toMatchObject({
      metadata: { trace_id: Buffer.from([1]), span_id: Buffer.alloc(0) },
    });
  });

  it('decodes CallReturn types by name, and a number the enum does not name as that number', () => {
    const call = method(guestApiFunction, 'Call');
    expect(call.responseDeserialize(Buffer.from([0x08, 0x02]))).toEqual({
      type: 'CALL_RET_ERR',
      msg: Buffer.alloc(0),
    });
    expect(call.responseDeserialize(Buffer.from([0x08, 0x03, 0x12, 0x01, 0xff]))).toEqual({
      type: 3,
      msg: Buffer.from([0xff]),
    });
    expect(call.responseDeserialize(Buffer.alloc(0))).toEqual({
      type: 'CALL_RET_NO_REPLY',
      msg: Buffer.alloc(0),
    });
  });

  it('encodes FunctionInstanceInit.serialized_state as field 10', () => {
    const init = method(guestApiFunction, 'Init');
    expect(init.requestSerialize({ serialized_state: Buffer.from([0xff]) })).toEqual(
      Buffer.from([0x52, 0x01, 0xff]),
    );
  });

  it('encodes TelemetryLogEvent levels by name and by number', () => {
    const log = method(guestApiHost, 'TelemetryLog');
    expect(log.requestSerialize({ log_level: 'LOG_INFO' })).toEqual(Buffer.from([0x10, 0x02]));
    expect(log.requestDeserialize(Buffer.from([0x10, 0x04]))).toMatchObject({ log_level: 'LOG_TRACE' });
  });
});
