/** What the platform keeps about its MQTT session in the data directory: its client id and subscriptions. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const STATE_FILE = 'mqtt-session.json';
/** The start of the platform's client id; the embedded broker refuses it to every other client. */
export const CLIENT_ID_PREFIX = 'skiff-';

/** What the platform remembers about its session: its client id and the subscriptions it made. */
export interface SessionState {
  clientId: string;
  /** Topic filter → QoS granted, as last known to be in the broker's session. */
  subscriptions: Record<string, number>;
}

/** Reads `<dataDir>/mqtt-session.json`, making a client id (`skiff-` and 16 hex digits) the first time. */
export function loadSessionState(dataDir: string): SessionState {
  try {
    const raw = JSON.parse(readFileSync(path.join(dataDir, STATE_FILE), 'utf8')) as Partial<SessionState>;
    if (
      typeof raw.clientId === 'string' &&
      new RegExp(`^${CLIENT_ID_PREFIX}[0-9a-f]{16}$`).test(raw.clientId)
    ) {
      const subscriptions: Record<string, number> = {};
      for (const [filter, qos] of Object.entries(raw.subscriptions ?? {})) {
        if (qos === 0 || qos === 1) subscriptions[filter] = qos;
      }
      return { clientId: raw.clientId, subscriptions };
    }
  } catch {
    // missing or unreadable: a new session
  }
  const state = { clientId: `${CLIENT_ID_PREFIX}${randomBytes(8).toString('hex')}`, subscriptions: {} };
  saveSessionState(dataDir, state);
  return state;
}

/** Writes the session state atomically (a new file renamed over the old one). */
export function saveSessionState(dataDir: string, state: SessionState): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, STATE_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
