/**
 * The error record a Baetyl rule publishes to its `publish` topic when the function failed every
 * attempt, as upstream's function manager marshals it with Go's encoding/json (keys sorted, zero
 * values of the message omitted, bytes base64, `<`, `>`, `&` escaped):
 * 1.0.x `{"errorMessage", "errorType", "functionMessage": {ID, QOS, Topic, Payload, Timestamp,
 * FunctionName, FunctionInvokeID}}`; OpenEdge 0.1.1 the MQTT PUBLISH itself under `packet`
 * (`{"Message": {Topic, Payload, QOS, Retain}, "Dup", "ID"}`). `errorMessage` is the text of the gRPC
 * error upstream's manager got from its runtime (`rpc error: code = Unknown desc = <details>`), and
 * `errorType` its Go type.
 */
import type { MqttFailure } from '../../model/flavor.js';

/** What `fmt.Sprintf("%T", err)` prints for a gRPC error in upstream's manager. */
export const GRPC_ERROR_TYPE = '*status.statusError';

/** Platform errors that upstream would have met as a runtime it cannot reach. */
const UNAVAILABLE = new Set([
  'SKIFF_E_INSTANCE_CRASHED',
  'SKIFF_E_INSTANCE_START_FAILED',
  'SKIFF_E_START_TIMEOUT',
  'SKIFF_E_CRASH_LOOP',
  'SKIFF_E_SANDBOX_UNAVAILABLE',
  'SKIFF_E_TOO_MANY_REQUESTS',
  'SKIFF_E_QUEUE_TIMEOUT',
]);

/** The failure as the text of the gRPC error upstream's manager would have got. */
export function grpcErrorText(error: MqttFailure['error'], size = 0): string {
  if (error.code === 'SKIFF_E_TIMEOUT')
    return 'rpc error: code = DeadlineExceeded desc = context deadline exceeded';
  if (error.code === 'SKIFF_E_PAYLOAD_TOO_LARGE' && error.limit !== undefined) {
    return `rpc error: code = ResourceExhausted desc = grpc: trying to send message larger than max (${size} vs. ${error.limit})`;
  }
  const code = UNAVAILABLE.has(error.code) ? 'Unavailable' : 'Unknown';
  return `rpc error: code = ${code} desc = ${error.message}`;
}

/** JSON as Go's encoding/json writes it: HTML characters and line separators escaped. */
function goJson(value: unknown): Buffer {
  const text = JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return Buffer.from(text, 'utf8');
}

/** Baetyl 1.0.x: the function message with its zero values omitted. */
export function baetylFailure(failure: MqttFailure): Buffer {
  const message: Record<string, unknown> = {};
  if (failure.packetId !== undefined && failure.packetId !== 0) message['ID'] = failure.packetId;
  if (failure.qos !== 0) message['QOS'] = failure.qos;
  if (failure.topic !== '') message['Topic'] = failure.topic;
  if (failure.payload.length > 0) message['Payload'] = failure.payload.toString('base64');
  const seconds = Math.floor(failure.receivedAt / 1000);
  if (seconds !== 0) message['Timestamp'] = seconds;
  if (failure.function !== '') message['FunctionName'] = failure.function;
  if (failure.invocationId !== '') message['FunctionInvokeID'] = failure.invocationId;
  return goJson({
    errorMessage: grpcErrorText(failure.error, failure.payload.length),
    errorType: GRPC_ERROR_TYPE,
    functionMessage: message,
  });
}

/** OpenEdge 0.1.1: the MQTT PUBLISH as gomqtt's struct marshals (no field omitted). */
export function openedgeFailure(failure: MqttFailure): Buffer {
  return goJson({
    errorMessage: grpcErrorText(failure.error, failure.payload.length),
    errorType: GRPC_ERROR_TYPE,
    packet: {
      Message: {
        Topic: failure.topic,
        Payload: failure.payload.toString('base64'),
        QOS: failure.qos,
        Retain: failure.retain,
      },
      Dup: false,
      ID: failure.packetId ?? 0,
    },
  });
}
