import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { extractArchive } from './index.js';
import {
  expectCode,
  expectContained,
  hasCommand,
  makeZip,
  modeOf,
  rawTar,
  snapshot,
  tarGz,
  useStagingDirs,
} from '../../../test/helpers/archives.js';

const dirs = useStagingDirs();

describe('extractArchive: format detection and corrupt input', () => {
  it('refuses bytes that are neither zip nor gzip', async () => {
    await expectCode(
      extractArchive(Buffer.from('hello, this is not an archive'), dirs.stage),
      'SKIFF_E_ARCHIVE_INVALID',
      /neither a zip nor a tar\.gz/,
    );
    await expectCode(extractArchive(Buffer.alloc(0), dirs.stage), 'SKIFF_E_ARCHIVE_INVALID');
  });

  it('refuses a zip signature followed by garbage, with yauzl’s message', async () => {
    const data = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomBytes(2000)]);
    await expectCode(
      extractArchive(data, dirs.stage),
      'SKIFF_E_ARCHIVE_INVALID',
      /zip archive is corrupt.*central directory/,
    );
  });

  it('refuses a truncated gzip', async () => {
    const full = tarGz([{ name: 'big.bin', data: randomBytes(200_000) }]);
    await expectCode(
      extractArchive(full.subarray(0, full.length / 2), dirs.stage),
      'SKIFF_E_ARCHIVE_INVALID',
      /gzip/,
    );
  });

  it('refuses a gzip that is not a tar, and a tar header with a bad checksum', async () => {
    await expectCode(extractArchive(zlib.gzipSync(randomBytes(4096)), dirs.stage), 'SKIFF_E_ARCHIVE_INVALID');
    const tarData = rawTar([{ name: 'a.txt', data: Buffer.from('a') }]);
    tarData[0] = 'b'.charCodeAt(0);
    await expectCode(
      extractArchive(zlib.gzipSync(tarData), dirs.stage),
      'SKIFF_E_ARCHIVE_INVALID',
      /checksum/,
    );
  });

  it('refuses a tar truncated inside a file body', async () => {
    const tarData = rawTar([{ name: 'a.bin', data: randomBytes(5000) }]);
    await expectCode(
      extractArchive(zlib.gzipSync(tarData.subarray(0, 2048)), dirs.stage),
      'SKIFF_E_ARCHIVE_INVALID',
    );
  });

  it('refuses a gzip wrapping another gzip (tar would unwrap it past the caps)', async () => {
    const inner = tarGz([{ name: 'a.txt', data: Buffer.from('a') }]);
    await expectCode(
      extractArchive(zlib.gzipSync(inner), dirs.stage),
      'SKIFF_E_ARCHIVE_INVALID',
      /another compressed/,
    );
  });

  it('refuses a zip entry whose CRC-32 does not match', async () => {
    const data = makeZip([{ name: 'a.txt', data: Buffer.from('hello'), crc: 1234 }]);
    await expectCode(extractArchive(data, dirs.stage), 'SKIFF_E_ARCHIVE_INVALID', /CRC-32/);
  });

  it('requires an empty staging folder', async () => {
    await fsp.writeFile(path.join(dirs.stage, 'left-over'), 'x');
    await expectCode(
      extractArchive(tarGz([{ name: 'a', data: Buffer.from('a') }]), dirs.stage),
      'SKIFF_E_INTERNAL',
    );
  });
});

describe('extractArchive: normal archives', () => {
  it('extracts a tar.gz made by tar, keeping a single top-level folder', async () => {
    const src = path.join(dirs.root, 'src');
    await fsp.mkdir(path.join(src, 'fn', 'lib'), { recursive: true });
    const binary = randomBytes(300_000);
    await fsp.writeFile(path.join(src, 'fn', 'lib', 'data.bin'), binary);
    await fsp.writeFile(path.join(src, 'fn', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    await fsp.writeFile(path.join(src, 'fn', 'private.txt'), 'secret', { mode: 0o600 });
    await fsp.chmod(path.join(src, 'fn', 'private.txt'), 0o600);
    const chunks: Buffer[] = [];
    for await (const chunk of tar.c({ gzip: true, cwd: src }, ['fn'])) chunks.push(chunk as Buffer);

    const result = await extractArchive(Buffer.concat(chunks), dirs.stage);

    expect(result).toEqual({ files: 3, bytes: binary.length + 18 + 6 });
    expect(await snapshot(dirs.stage)).toEqual([
      'fn',
      'fn/lib',
      'fn/lib/data.bin',
      'fn/private.txt',
      'fn/run.sh',
    ]);
    expect((await fsp.readFile(path.join(dirs.stage, 'fn', 'lib', 'data.bin'))).equals(binary)).toBe(true);
    expect(await modeOf(path.join(dirs.stage, 'fn', 'run.sh'))).toBe(0o755);
    expect(await modeOf(path.join(dirs.stage, 'fn', 'private.txt'))).toBe(0o644);
    expect(await modeOf(path.join(dirs.stage, 'fn', 'lib'))).toBe(0o755);
  });

  it.skipIf(!hasCommand('zip'))('extracts a zip made by the zip command', async () => {
    const src = path.join(dirs.root, 'src');
    await fsp.mkdir(path.join(src, 'lib', 'deep', 'er'), { recursive: true });
    const binary = randomBytes(500_000);
    await fsp.writeFile(path.join(src, 'lib', 'deep', 'er', 'data.bin'), binary);
    await fsp.writeFile(path.join(src, 'index.js'), 'export const handler = () => 1;\n'.repeat(2000));
    await fsp.writeFile(path.join(src, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await fsp.mkdir(path.join(src, 'empty'));
    const zipFile = path.join(dirs.root, 'fn.zip');
    execFileSync('zip', ['-q', '-r', '-X', zipFile, '.'], { cwd: src });

    const result = await extractArchive(await fsp.readFile(zipFile), dirs.stage);

    expect(result.files).toBe(3);
    expect(await snapshot(dirs.stage)).toEqual(await snapshot(src));
    expect((await fsp.readFile(path.join(dirs.stage, 'lib', 'deep', 'er', 'data.bin'))).equals(binary)).toBe(
      true,
    );
    expect(await fsp.readFile(path.join(dirs.stage, 'index.js'), 'utf8')).toBe(
      'export const handler = () => 1;\n'.repeat(2000),
    );
    expect(await modeOf(path.join(dirs.stage, 'run.sh'))).toBe(0o755);
    expect(await modeOf(path.join(dirs.stage, 'index.js'))).toBe(0o644);
    expect(await modeOf(path.join(dirs.stage, 'empty'))).toBe(0o755);
  });

  it.skipIf(!hasCommand('tar'))('extracts a pax tar.gz made by the system tar', async () => {
    const src = path.join(dirs.root, 'src');
    const long = `${'x'.repeat(120)}/données.txt`;
    await fsp.mkdir(path.join(src, 'x'.repeat(120)), { recursive: true });
    await fsp.writeFile(path.join(src, long), 'long');
    await fsp.writeFile(path.join(src, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    const archive = path.join(dirs.root, 'fn.tar.gz');
    execFileSync('tar', ['-czf', archive, '--format=pax', '-C', src, '.']);

    expect(await extractArchive(await fsp.readFile(archive), dirs.stage)).toEqual({
      files: 2,
      bytes: 4 + 10,
    });
    expect(await fsp.readFile(path.join(dirs.stage, long), 'utf8')).toBe('long');
    expect(await modeOf(path.join(dirs.stage, 'run.sh'))).toBe(0o755);
  });

  it('extracts hand-made zips: deflate, attributes unset, owner-only modes normalised', async () => {
    const data = makeZip([
      { name: 'dir/', unixMode: 0o040700 },
      { name: 'dir/a.txt', data: Buffer.from('a'.repeat(10_000)), deflate: true, unixMode: 0o100600 },
      { name: 'dir/tool', data: Buffer.from('#!/bin/sh\n'), unixMode: 0o104700 },
      { name: 'plain.txt', data: Buffer.from('plain') },
    ]);
    expect(await extractArchive(data, dirs.stage)).toEqual({ files: 3, bytes: 10_000 + 10 + 5 });
    expect(await fsp.readFile(path.join(dirs.stage, 'dir', 'a.txt'), 'utf8')).toBe('a'.repeat(10_000));
    expect(await modeOf(path.join(dirs.stage, 'dir'))).toBe(0o755);
    expect(await modeOf(path.join(dirs.stage, 'dir', 'a.txt'))).toBe(0o644);
    expect(await modeOf(path.join(dirs.stage, 'dir', 'tool'))).toBe(0o755);
    expect(await modeOf(path.join(dirs.stage, 'plain.txt'))).toBe(0o644);
  });

  it('extracts an empty zip', async () => {
    expect(await extractArchive(makeZip([]), dirs.stage)).toEqual({ files: 0, bytes: 0 });
    expect(await snapshot(dirs.stage)).toEqual([]);
  });

  it('drops setuid bits and accepts ./ prefixes in tar', async () => {
    const data = tarGz([
      { name: './', type: '5' },
      { name: './bin/', type: '5', mode: 0o700 },
      { name: './bin/suid', data: Buffer.from('x'), mode: 0o4755 },
    ]);
    await extractArchive(data, dirs.stage);
    expect(await modeOf(path.join(dirs.stage, 'bin', 'suid'))).toBe(0o755);
    expect(await modeOf(path.join(dirs.stage, 'bin'))).toBe(0o755);
  });

  it('ignores what follows the end-of-archive blocks in a tar', async () => {
    const tarData = rawTar([{ name: 'a.txt', data: Buffer.from('a') }], Buffer.alloc(8 * 1024 * 1024));
    expect(await extractArchive(zlib.gzipSync(tarData), dirs.stage)).toEqual({ files: 1, bytes: 1 });
  });
});

describe('extractArchive: path attacks', () => {
  it('refuses ../ entries in zip and writes nothing outside', async () => {
    const data = makeZip([
      { name: 'ok.txt', data: Buffer.from('ok') },
      { name: '../evil.txt', data: Buffer.from('evil') },
    ]);
    await expectContained(dirs, data, 'SKIFF_E_ARCHIVE_UNSAFE', /"\.\.\/evil\.txt"/);
    await expect(fsp.access(path.join(dirs.root, 'evil.txt'))).rejects.toThrow();
  });

  it('refuses nested ../ entries in tar and writes nothing outside', async () => {
    for (const name of ['../evil.txt', 'a/../../evil.txt', 'a/b/../../../evil.txt']) {
      await fsp.rm(dirs.stage, { recursive: true });
      await fsp.mkdir(dirs.stage);
      const data = tarGz([
        { name: 'ok.txt', data: Buffer.from('ok') },
        { name, data: Buffer.from('evil') },
      ]);
      await expectContained(dirs, data, 'SKIFF_E_ARCHIVE_UNSAFE', /'\.\.'/);
    }
  });

  it('refuses absolute paths in zip and tar', async () => {
    const target = path.join(dirs.root, 'abs-evil.txt');
    await expectContained(
      dirs,
      makeZip([{ name: target, data: Buffer.from('x') }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /absolute/,
    );
    await expectContained(
      dirs,
      tarGz([{ name: target, data: Buffer.from('x') }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /absolute/,
    );
    await expectContained(
      dirs,
      tarGz([{ name: 'C:/evil.txt', data: Buffer.from('x') }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
    );
  });

  it('refuses backslashes in names', async () => {
    await expectContained(
      dirs,
      makeZip([{ name: '..\\evil.txt', data: Buffer.from('x') }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
    );
    await expectContained(
      dirs,
      tarGz([{ name: 'a\\b.txt', data: Buffer.from('x') }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /backslash/,
    );
  });

  it('refuses paths deeper than maxDepth', async () => {
    const name = `${Array.from({ length: 10 }, (_, i) => `d${i}`).join('/')}/f.txt`;
    const data = tarGz([{ name, data: Buffer.from('x') }]);
    await expectCode(extractArchive(data, dirs.stage, { maxDepth: 5 }), 'SKIFF_E_ARCHIVE_UNSAFE', /deeper/);
  });
});
