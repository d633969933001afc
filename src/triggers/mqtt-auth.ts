/**
 * Who may use the embedded MQTT broker and for what (docs/triggers/mqtt.md "Users and access").
 *
 * Every client logs in (unless `mqtt.broker.allowAnonymous`): the generated default user
 * (`<dataDir>/mqtt-credentials.json`, mode 0600), the users of `mqtt.broker.users` with their topic
 * access lists, or the platform's own client, whose password is made at each start and never
 * written anywhere. Passwords are compared in constant time on their SHA-256.
 *
 * A client id belongs to the user whose client holds it: another user connecting with it (which would
 * close that client and take over its session) is refused, and the platform's prefix (`skiff-`) is
 * reserved for the platform's own client.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { allowedBy, isSysTopic } from './mqtt-acl.js';
import { filterProblem } from '../model/mqtt-topics.js';
import { CLIENT_ID_PREFIX } from './mqtt-session-state.js';

export const CREDENTIALS_FILE = 'mqtt-credentials.json';
/** The generated user with the run of every topic that does not start with `$`. */
export const DEFAULT_USER = 'skiff';
/** The platform's own client. */
export const PLATFORM_USER = 'skiff-platform';

/** CONNACK return codes of MQTT 3.1.1. */
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export interface Credentials {
  username: string;
  password: string;
}

/** A user as the broker checks it: the hash of its password and its access lists. */
export interface BrokerUser {
  username: string;
  passwordHash: Buffer;
  publish: readonly string[];
  subscribe: readonly string[];
}

export const sha256 = (value: string | Buffer): Buffer => createHash('sha256').update(value).digest();

/** Reads a password file (its first line, without surrounding blanks). */
export function readSecretFile(file: string, setting: string): string {
  let text: string;
  try {
    text = readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `${setting}: cannot read ${file}: ${(err as Error).message}`,
    );
  }
  const secret = (text.split('\n')[0] ?? '').trim();
  if (secret === '') throw new SkiffError('SKIFF_E_CONFIG_INVALID', `${setting}: ${file} is empty`);
  return secret;
}

/**
 * The default user's credentials from `<dataDir>/mqtt-credentials.json`, generated (mode 0600) at
 * the first start like the admin token.
 */
export function ensureMqttCredentials(dataDir: string): Credentials & { file: string } {
  const file = path.join(dataDir, CREDENTIALS_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === undefined) {
    const created = { username: DEFAULT_USER, password: randomBytes(32).toString('base64url') };
    writeFileSync(file, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return { ...created, file };
  }
  try {
    const parsed = JSON.parse(text) as Partial<Credentials>;
    if (
      parsed.username === DEFAULT_USER &&
      typeof parsed.password === 'string' &&
      parsed.password.length >= 12
    ) {
      return { username: parsed.username, password: parsed.password, file };
    }
  } catch {
    // reported below
  }
  throw new SkiffError(
    'SKIFF_E_CONFIG_INVALID',
    `${file} is not {"username":"${DEFAULT_USER}","password":"<at least 12 characters>"}; fix it, or delete it to have a new password made`,
  );
}

/** A user of `mqtt.broker.users` as the broker checks it; its filters are checked here (at start). */
export function configuredUser(user: {
  username: string;
  password?: string | undefined;
  passwordFile?: string | undefined;
  publish: string[];
  subscribe: string[];
}): BrokerUser {
  const where = `mqtt.broker.users[${JSON.stringify(user.username)}]`;
  if (user.username === DEFAULT_USER || user.username === PLATFORM_USER) {
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `${where}: the user name ${user.username} is the platform's`,
    );
  }
  for (const filter of [...user.publish, ...user.subscribe]) {
    const problem = filterProblem(filter) ?? (filter.startsWith('$share/') ? 'no $share/ here' : undefined);
    if (problem !== undefined) {
      throw new SkiffError(
        'SKIFF_E_CONFIG_INVALID',
        `${where}: ${JSON.stringify(filter)} is not a topic filter: ${problem}`,
      );
    }
  }
  const password = user.password ?? readSecretFile(user.passwordFile ?? '', `${where}.passwordFile`);
  if (password.length < 12) {
    throw new SkiffError('SKIFF_E_CONFIG_INVALID', `${where}: the password needs at least 12 characters`);
  }
  return {
    username: user.username,
    passwordHash: sha256(password),
    publish: user.publish,
    subscribe: user.subscribe,
  };
}

export interface AccessOptions {
  /** Every user but anonymous ones: the platform's, the default one and the configured ones. */
  users: BrokerUser[];
  allowAnonymous: boolean;
  /** Persistent sessions (clean: false) one user may hold, and all users together. */
  maxPersistentSessionsPerUser: number;
  maxPersistentSessions: number;
  logger: Logger;
}

type Hooks = Required<Pick<AedesOptions, 'authenticate' | 'authorizeSubscribe' | 'authorizeForward'>>;

export interface BrokerAccess extends Hooks {
  /** Why the client may not publish to `topic`, or undefined when it may. */
  publishProblem(client: Client | null, topic: string): string | undefined;
  /** Call on the broker's `clientDisconnect`. */
  disconnected(client: Client): void;
  /** Marks the broker's end of an in-process connection: the only way the platform's user logs in. */
  markInternal(conn: object): void;
  /** The user name of a logged-in client ('' for an anonymous one). */
  userName(client: Client): string;
  /** Whether the client is the platform's own. */
  isPlatform(client: Client): boolean;
}

function refusal(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

const ANYTHING = ['#'];
/** The platform's client: every filter its rules may name (shared subscriptions too). */
const PLATFORM_SUBSCRIBE = ['#', '$share/#'];

/** The aedes hooks that enforce logins, client id ownership and topic access. */
export function createBrokerAccess(options: AccessOptions): BrokerAccess {
  const { logger } = options;
  const users = new Map(options.users.map((user) => [user.username, user]));
  if (users.size !== options.users.length) {
    const names = options.users.map((user) => user.username);
    const twice = names.find((name, i) => names.indexOf(name) !== i);
    throw new SkiffError('SKIFF_E_CONFIG_INVALID', `mqtt.broker.users: the user ${twice} is there twice`);
  }
  /** Hash compared for an unknown user name, so that its refusal takes as long as a wrong password. */
  const nobody = sha256(randomBytes(32));
  /** The user of each authenticated client (anonymous: undefined). */
  const userOf = new WeakMap<Client, BrokerUser | undefined>();
  /**
   * Client id → the user name that holds it, the client that last logged in with it and whether its
   * session outlives the connection. An entry goes with the connection of a clean client, and with
   * a persistent session when a clean client takes the id over (aedes then drops the session).
   */
  const owners = new Map<string, { username: string; client: Client; persistent: boolean }>();
  /** Persistent sessions per user name. */
  const persistentOf = new Map<string, number>();
  let persistentAll = 0;
  const setPersistent = (username: string, delta: number): void => {
    persistentAll += delta;
    const n = (persistentOf.get(username) ?? 0) + delta;
    if (n > 0) persistentOf.set(username, n);
    else persistentOf.delete(username);
  };
  const internal = new WeakSet<object>();
  let refused = 0;
  let refusedLog: NodeJS.Timeout | undefined;

  const refuse = (client: Client, username: string | undefined, why: string): void => {
    const remote = client.conn as { remoteAddress?: string };
    logger.debug({ client: client.id, username, remote: remote.remoteAddress, why }, 'refused an MQTT login');
    refused += 1;
    refusedLog ??= setTimeout(() => {
      logger.warn(
        { refused },
        'refused MQTT logins (wrong user or password, or a client id that is not theirs)',
      );
      refused = 0;
      refusedLog = undefined;
    }, 5_000).unref();
  };

  const rights = (client: Client | null): { publish: readonly string[]; subscribe: readonly string[] } => {
    if (client === null) return { publish: ANYTHING, subscribe: ANYTHING }; // the broker itself (wills at start)
    if (!userOf.has(client)) return { publish: [], subscribe: [] };
    const user = userOf.get(client);
    if (user === undefined || user.username === DEFAULT_USER)
      return { publish: ANYTHING, subscribe: ANYTHING };
    if (user.username === PLATFORM_USER) return { publish: ANYTHING, subscribe: PLATFORM_SUBSCRIBE };
    return user;
  };

  return {
    authenticate(client, username, password, done) {
      const name = username === undefined || username === '' ? undefined : username;
      let user: BrokerUser | undefined;
      if (name !== undefined || password !== undefined) {
        const found = name === undefined ? undefined : users.get(name);
        const given = sha256(password ?? Buffer.alloc(0));
        const match = timingSafeEqual(given, found?.passwordHash ?? nobody);
        if (found === undefined || !match) {
          refuse(client, name, 'wrong user name or password');
          done(refusal(BAD_USERNAME_OR_PASSWORD, 'bad user name or password'), null);
          return;
        }
        user = found;
      } else if (!options.allowAnonymous) {
        refuse(client, undefined, 'no user name');
        done(refusal(NOT_AUTHORIZED, 'this broker needs a user name and password'), null);
        return;
      }
      const owner = user?.username ?? '';
      if (owner === PLATFORM_USER && !internal.has(client.conn as object)) {
        refuse(client, name, "the platform's user logs in only from inside the platform");
        done(refusal(NOT_AUTHORIZED, 'not authorized'), null);
        return;
      }
      if (client.id.startsWith(CLIENT_ID_PREFIX) !== (owner === PLATFORM_USER)) {
        refuse(client, name, `client ids starting with ${CLIENT_ID_PREFIX} are the platform's`);
        done(refusal(NOT_AUTHORIZED, `client ids starting with ${CLIENT_ID_PREFIX} are reserved`), null);
        return;
      }
      const held = owners.get(client.id);
      if (held !== undefined && held.username !== owner) {
        refuse(client, name, 'the client id belongs to another user');
        done(refusal(NOT_AUTHORIZED, 'this client id is in use by another user'), null);
        return;
      }
      const persistent = !client.clean;
      if (persistent && held?.persistent !== true && owner !== PLATFORM_USER) {
        const why =
          (persistentOf.get(owner) ?? 0) >= options.maxPersistentSessionsPerUser
            ? `the user holds mqtt.broker.maxPersistentSessionsPerUser (${options.maxPersistentSessionsPerUser}) persistent sessions`
            : persistentAll >= options.maxPersistentSessions
              ? `the broker holds mqtt.broker.maxPersistentSessions (${options.maxPersistentSessions}) persistent sessions`
              : undefined;
        if (why !== undefined) {
          refuse(client, name, why);
          done(refusal(NOT_AUTHORIZED, `${why}; connect with a clean session to end one`), null);
          return;
        }
      }
      if (held?.persistent === true) setPersistent(held.username, -1);
      if (persistent) setPersistent(owner, 1);
      owners.set(client.id, { username: owner, client, persistent });
      userOf.set(client, user);
      done(null, true);
    },

    authorizeSubscribe(client, sub, callback) {
      // a refused filter gets 0x80 in the SUBACK; the others of the same SUBSCRIBE go on
      callback(null, allowedBy(rights(client).subscribe, sub.topic) ? sub : null);
    },

    authorizeForward(client, packet) {
      // also what a session holds from before, or a subscription aedes stored beside a refused one
      return allowedBy(rights(client).subscribe, packet.topic) ? packet : null;
    },

    publishProblem(client, topic) {
      if (isSysTopic(topic) || topic.startsWith('$'))
        return 'topics starting with $ are reserved for the broker';
      return allowedBy(rights(client).publish, topic) ? undefined : `the user may not publish to ${topic}`;
    },

    markInternal(conn) {
      internal.add(conn);
    },

    userName: (client) => userOf.get(client)?.username ?? '',

    isPlatform: (client) => userOf.get(client)?.username === PLATFORM_USER,

    disconnected(client) {
      // the session of a clean client ends with it; a persistent one stays its user's
      const held = owners.get(client.id);
      if (held?.client === client && !held.persistent) owners.delete(client.id);
    },
  };
}

/** A password for the platform's own client, new at each start. */
export function platformCredentials(): Credentials {
  return { username: PLATFORM_USER, password: randomBytes(32).toString('base64url') };
}
