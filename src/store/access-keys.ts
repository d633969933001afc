/**
 * The platform's key material for private functions (src/invoke/private-access.ts): one RSA key pair
 * and one namespace id per platform, made at the first start and kept in `<dataDir>/access/`, owner-only
 * like the rest of the data directory (0700 folder, 0600 files):
 *
 * - `signing-key.pem`: the private key (PKCS#8 PEM), which signs the tokens `skiff fn token` makes; the
 *   public key that verifies them is derived from it and is the only part ever shown;
 * - `namespace-id`: the platform's namespace id (a UUID), which namespace-scoped tokens name.
 *
 * A key file that is missing (while the namespace id exists: it was made once and later removed) or
 * that does not hold an RSA private key is not replaced: the platform starts, says so in its log, and
 * private functions answer 500 until an operator restores the file or deletes the folder (a new key
 * and namespace are then made at the next start, and every earlier token stops working).
 */
import { randomUUID, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const ACCESS_DIR = 'access';
export const SIGNING_KEY_FILE = 'signing-key.pem';
export const NAMESPACE_ID_FILE = 'namespace-id';

/** A usable key pair. */
export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface AccessKeys {
  namespaceId: string;
  /** The key pair, or why there is none (the log and the operator get this; callers get a 500). */
  keys: SigningKeys | { problem: string };
}

/** The shortest RSA key RS256 takes. */
const MIN_MODULUS_BITS = 2048;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function readKeys(file: string): SigningKeys | { problem: string } {
  if (!existsSync(file)) return { problem: `${file} is missing` };
  try {
    const privateKey = createPrivateKey(readFileSync(file));
    if (privateKey.asymmetricKeyType !== 'rsa') {
      return { problem: `${file} holds a ${privateKey.asymmetricKeyType ?? 'non-RSA'} key, not an RSA key` };
    }
    // RS256 verifiers (jose among them) refuse shorter keys: every token would be "not valid"
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_MODULUS_BITS) {
      return { problem: `${file} holds a ${bits}-bit RSA key; RS256 needs ${MIN_MODULUS_BITS} bits or more` };
    }
    return { privateKey, publicKey: createPublicKey(privateKey) };
  } catch (err) {
    return { problem: `${file} is not a private key in PEM (${(err as Error).message})` };
  }
}

/** Reads the key pair and namespace id, making them at the first start (nothing in `<dataDir>/access/`). */
async function readAccessKeys(dataDir: string): Promise<AccessKeys> {
  const dir = path.join(dataDir, ACCESS_DIR);
  const keyFile = path.join(dir, SIGNING_KEY_FILE);
  const idFile = path.join(dir, NAMESPACE_ID_FILE);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(keyFile) && !existsSync(idFile)) {
    // made off the event loop (libuv's threads), in PKCS#8 PEM as jose's exportPKCS8 wrote it
    const { privateKey } = await promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicExponent: 0x10001,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    writeFileSync(keyFile, privateKey, { mode: 0o600, flag: 'wx' });
  }
  let namespaceId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : '';
  if (!UUID.test(namespaceId)) {
    // made once; a lost or damaged file gets a new id (namespace-scoped tokens then stop working)
    namespaceId = randomUUID();
    writeFileSync(idFile, `${namespaceId}\n`, { mode: 0o600 });
  }
  return { namespaceId, keys: readKeys(keyFile) };
}

/** The public key in the two PEM forms clients use: SPKI (`PUBLIC KEY`) and PKCS#1 (`RSA PUBLIC KEY`). */
export function publicKeyPem(keys: SigningKeys): { spki: string; pkcs1: string } {
  return {
    spki: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    pkcs1: keys.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

/**
 * The platform's access keys (made at the first start). An unusable key is logged, not replaced:
 * private functions then answer 500 until the operator restores it or deletes `<dataDir>/access`.
 */
export async function loadAccessKeys(
  dataDir: string,
  logger?: { error(obj: object, msg: string): void },
): Promise<AccessKeys> {
  const keys = await readAccessKeys(dataDir);
  if ('problem' in keys.keys) {
    logger?.error(
      { problem: keys.keys.problem },
      'private functions answer 500 and no token can be made: the signing key is unusable; restore it, or delete <dataDir>/access to make a new one (every earlier token then stops working)',
    );
  }
  return keys;
}
