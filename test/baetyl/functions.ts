/**
 * Baetyl functions for the tests, written as upstream's users write them (`handler(event, context)`
 * in Python, `exports.handler = (event, context, callback)` in Node), each in a temporary folder with
 * a skiff.json of flavor `baetyl` (or `openedge`) and MQTT rules in the form an import produces.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { defaultLogin } from '../helpers/mqtt.js';
import { removeDir, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';
import { Inbox, subscribed } from '../mqtt/setup.js';

/** One Python handler that behaves by topic (what each acceptance point needs). */
export const PY_HANDLER = `
import time

def handler(event, context):
    topic = context["messageTopic"]
    shown = event.decode("latin-1") if isinstance(event, bytes) else event
    print("call %s %s" % (topic, shown))
    if topic == "sensors/temp":
        if isinstance(event, dict) and event.get("temp", 0) > 30:
            return dict(event, alert=True, topic=context["messageTopic"])
        return None
    if topic == "ctx/in":
        return {"context": context, "now": time.time()}
    if topic == "kind/in":
        return {"type": type(event).__name__, "value": shown}
    if topic == "result/in":
        want = event.get("want")
        if want == "bytes":
            return b"raw\\x00bytes"
        if want == "str":
            return "hi"
        if want == "dict":
            return {"a": 1}
        return None
    if topic.startswith("qos/") or topic == "big/in":
        return {"ok": True}
    if topic in ("boom/in", "once/in", "boom/old"):
        raise TypeError("boom")
    return None
`;

/** Sleeps on "sleep"; answers which instance it is (an id drawn when the module loads). */
export const PY_SLOW = `
import time, uuid

INSTANCE = uuid.uuid4().hex

def handler(event, context):
    if event == b"sleep":
        time.sleep(5)
    return {"instance": INSTANCE}
`;

/** Takes a second; answers when it started and ended (seconds, float). */
export const PY_SECOND = `
import time

def handler(event, context):
    start = time.time()
    time.sleep(1)
    return {"start": start, "end": time.time(), "n": event}
`;

export const NODE_HANDLER = `
exports.handler = (event, context, callback) => {
  const want = event && event.want;
  console.log('call ' + context.messageTopic + ' ' + JSON.stringify(want));
  if (want === 'zero') return callback(null, 0);
  if (want === 'false') return callback(null, false);
  if (want === 'empty') return callback(null, '');
  if (want === 'err') return callback(new Error('x'));
  callback(null, Buffer.isBuffer(event) ? { raw: event.toString() } : { ...event, id: context.invokeid });
};
`;

export interface BaetylFunction {
  runtime: 'python' | 'node';
  code: string;
  flavor?: 'baetyl' | 'openedge';
  rules: unknown[];
  timeoutMs?: number;
  scaling?: Record<string, number>;
}

/** A folder holding the function's `index.py` / `index.js` and its skiff.json. */
export async function baetylFunction(fn: BaetylFunction): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await writeFile(path.join(dir, fn.runtime === 'python' ? 'index.py' : 'index.js'), fn.code);
  const spec = {
    runtime: fn.runtime,
    flavor: fn.flavor ?? 'baetyl',
    handler: 'index.handler',
    ...(fn.timeoutMs === undefined ? {} : { timeoutMs: fn.timeoutMs }),
    ...(fn.scaling === undefined ? {} : { scaling: fn.scaling }),
    triggers: { mqtt: fn.rules },
  };
  await writeFile(path.join(dir, 'skiff.json'), JSON.stringify(spec));
  return dir;
}

/** A rule as the import writes one from a Baetyl 1.0 rule (retry.max 3, the error record published). */
export function baetylRule(
  subscribe: string,
  publish: string,
  over: { qos?: 0 | 1; publishQos?: 0 | 1; attempts?: number; maxPayloadBytes?: number } = {},
): Record<string, unknown> {
  return { subscribe, publish, qos: 1, publishQos: 1, attempts: 3, onError: 'publish', ...over };
}

/**
 * Deploys the functions (name → folder) on the platform, connects an MQTT test client to its embedded
 * broker subscribed to `outputs`, and waits until the platform holds the subscriptions `inputs`.
 */
export async function deployAndListen(
  p: TestPlatform,
  functions: Record<string, string>,
  clientId: string,
  outputs: string[],
  inputs: string[],
): Promise<{ client: MqttClient; inbox: Inbox }> {
  for (const [name, dir] of Object.entries(functions)) {
    const res = await p.deploy(name, dir);
    if (res.status !== 201) throw new Error(`deploying ${name}: ${res.status} ${await res.text()}`);
  }
  const client = await connectAsync(p.server.endpoints['mqtt'] as string, {
    ...defaultLogin(p),
    clientId,
    reconnectPeriod: 0,
  });
  const inbox = new Inbox(client);
  await client.subscribeAsync(outputs, { qos: 1 });
  await subscribed(p.dataDir, inputs);
  return { client, inbox };
}

/** Ends the client and the platform and removes the folders. */
export async function tearDown(
  p: TestPlatform | undefined,
  client: MqttClient | undefined,
  dirs: string[],
): Promise<void> {
  await client?.endAsync();
  await p?.stop();
  for (const dir of dirs) await removeDir(dir);
  if (p !== undefined) await removeDir(p.dataDir);
}
