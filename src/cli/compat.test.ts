import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseFolder, packedPaths } from './compat.js';

const FIXTURES = path.resolve(import.meta.dirname, '..', '..', 'test', 'fixtures', 'baetyl-import');

describe('skiff compat baetyl import: what is sent', () => {
  it("takes the folder above etc/baetyl as the base, else the config's folder, else --base", () => {
    expect(baseFolder('/srv/app/etc/baetyl/service.yml', undefined)).toBe('/srv/app');
    expect(baseFolder('/srv/app/module.yml', undefined)).toBe('/srv/app');
    expect(baseFolder('/srv/app/conf/service.yml', '/srv')).toBe('/srv');
  });

  it('packs the configuration files, the codedirs and the folders on the way, nothing else', async () => {
    const sent = await packedPaths(
      path.join(FIXTURES, 'v1'),
      'etc/baetyl/service.yml',
      ['etc/baetyl/python.yml'],
      undefined,
    );
    for (const rel of [
      'etc',
      'etc/baetyl',
      'etc/baetyl/service.yml',
      'etc/baetyl/python.yml',
      'var',
      'var/db/baetyl',
      'var/db/baetyl/function-sayhi',
      'var/db/baetyl/function-sayhi/index.py',
      'var/db/baetyl/function-sayjs/node_modules/x/index.js',
    ]) {
      expect(sent(rel), rel).toBe(true);
    }
    for (const rel of [
      'etc/baetyl/node.yml',
      'etc/other',
      'var/log',
      'var/db/baetyl/function-other',
      'notes.txt',
    ]) {
      expect(sent(rel), rel).toBe(false);
    }
  });

  it('refuses before packing what the platform would refuse', async () => {
    await expect(packedPaths(path.join(FIXTURES, 'v011'), 'module.yml', [], 'baetyl')).rejects.toThrow(
      /module\.yml: functions\[0\]\.service: is required/,
    );
  });
});
