import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../shared/errors.js';

export const TOKEN_FILE = 'admin-token';

/** Reads the admin token from the data directory, generating it (mode 0600) at first start. */
export function ensureAdminToken(dataDir: string): string {
  const file = path.join(dataDir, TOKEN_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Checks `Authorization: Bearer <token>` in constant time (hash first, so lengths always match). */
export function createTokenCheck(token: string): (header: string | undefined) => void {
  const expected = sha256(token);
  return (header) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    const given = match?.[1];
    if (given === undefined) {
      throw new SkiffError(
        'SKIFF_E_UNAUTHORIZED',
        'missing bearer token: send `Authorization: Bearer <admin token>`',
      );
    }
    if (!timingSafeEqual(sha256(given), expected)) {
      throw new SkiffError('SKIFF_E_UNAUTHORIZED', 'wrong admin token; it is in <data-dir>/admin-token');
    }
  };
}

/** Whether `header` carries the admin token (`Authorization: Bearer <token>`), in constant time. */
export function createTokenTest(token: string): (header: string | undefined) => boolean {
  const check = createTokenCheck(token);
  return (header) => {
    try {
      check(header);
      return true;
    } catch {
      return false;
    }
  };
}
