import { describe, expect, it } from 'vitest';
import type { MqttFailure } from '../../model/flavor.js';
import { mapBaetylHandler } from './flavor.js';
import { baetylFailure, grpcErrorText, openedgeFailure } from './mqtt-failure.js';

const failure = (over: Partial<MqttFailure> = {}): MqttFailure => ({
  function: 'alert',
  invocationId: '6f1d2f56-3c1a-4a43-9a0e-0c1f3c0e2b11',
  topic: 'sensors/temp',
  qos: 1,
  retain: false,
  packetId: 7,
  payload: Buffer.from('{"temp":35}'),
  receivedAt: 1_765_000_000_500,
  attempts: 3,
  error: { code: 'SKIFF_E_FUNCTION_ERROR', message: "[UserCodeInvoke] <TypeError('boom')>", status: 500 },
  ...over,
});

describe('Baetyl handler notation', () => {
  it('maps module.function onto Skiff forms, packages as folders for Python', () => {
    expect(mapBaetylHandler('index.handler', 'python')).toBe('index.py:handler');
    expect(mapBaetylHandler('pkg.mod.handler', 'python')).toBe('pkg/mod.py:handler');
    expect(mapBaetylHandler('index.handler', 'node')).toBe('index:handler');
    expect(mapBaetylHandler('main.py:fn', 'python')).toBe('main.py:fn');
    expect(mapBaetylHandler('handler', 'python')).toBe('handler');
  });
});

describe('Baetyl failure records', () => {
  it('writes 1.0 functionMessage as Go does: sorted keys, base64 payload, seconds, HTML escaped', () => {
    const text = baetylFailure(failure()).toString();
    expect(
      text.startsWith('{"errorMessage":"rpc error: code = Unknown desc = [UserCodeInvoke] \\u003cTypeError'),
    ).toBe(true);
    const record = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual(['errorMessage', 'errorType', 'functionMessage']);
    expect(record['errorType']).toBe('*status.statusError');
    expect(record['functionMessage']).toEqual({
      ID: 7,
      QOS: 1,
      Topic: 'sensors/temp',
      Payload: Buffer.from('{"temp":35}').toString('base64'),
      Timestamp: 1_765_000_000,
      FunctionName: 'alert',
      FunctionInvokeID: '6f1d2f56-3c1a-4a43-9a0e-0c1f3c0e2b11',
    });
  });

  it('omits the zero values of a QoS 0 message with an empty payload', () => {
    const record = JSON.parse(
      baetylFailure(failure({ qos: 0, packetId: undefined, payload: Buffer.alloc(0) })).toString(),
    ) as {
      functionMessage: Record<string, unknown>;
    };
    expect(Object.keys(record.functionMessage)).toEqual([
      'Topic',
      'Timestamp',
      'FunctionName',
      'FunctionInvokeID',
    ]);
  });

  it('writes 0.1.1 records with the MQTT packet under packet', () => {
    const record = JSON.parse(openedgeFailure(failure()).toString()) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual(['errorMessage', 'errorType', 'packet']);
    expect(record['packet']).toEqual({
      Message: {
        Topic: 'sensors/temp',
        Payload: Buffer.from('{"temp":35}').toString('base64'),
        QOS: 1,
        Retain: false,
      },
      Dup: false,
      ID: 7,
    });
  });

  it("words a timeout and an unreachable runtime as upstream's gRPC client does", () => {
    expect(grpcErrorText({ code: 'SKIFF_E_TIMEOUT', message: 'x' })).toBe(
      'rpc error: code = DeadlineExceeded desc = context deadline exceeded',
    );
    expect(grpcErrorText({ code: 'SKIFF_E_INSTANCE_CRASHED', message: 'the instance exited' })).toBe(
      'rpc error: code = Unavailable desc = the instance exited',
    );
  });
});
