import zlib from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { SkiffError, toSkiffError } from '../../shared/errors.js';
import { unsafeEntry } from './entry-path.js';
import { fileModeFrom, type StagingWriter } from './staging.js';

const ACCEPTED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);
const TYPE_NAMES: Record<string, string> = {
  Link: 'a hard link',
  SymbolicLink: 'a symbolic link',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a FIFO',
  GNUDumpDir: 'a GNU dump folder',
};
/** Room for headers, pax records and padding on top of the file bytes, per entry. */
const TAR_OVERHEAD_PER_ENTRY = 16 * 1024;

/**
 * Extracts a tar.gz upload into `writer`'s staging folder.
 *
 * The `tar` package parses the stream (`tar.Parser`, `strict: true`), and StagingWriter does every
 * write itself, so nothing but regular files and folders can ever be created. `tar.Unpack`/`tar.x` are
 * deliberately not used: they strip `/` and skip `..` entries with a warning instead of refusing the
 * upload, a throwing `filter` there escapes as an uncaught exception and leaves the promise pending, and
 * their in-flight writes can outlive an abort. The Unpack options (`preservePaths: false`,
 * `preserveOwner: false`, `maxDepth`) therefore do not apply; the writer enforces the same rules:
 * paths are refused rather than rewritten, nothing is ever chowned, and depth is capped by the limits.
 */
export function extractTarGz(data: Buffer, writer: StagingWriter): Promise<void> {
  const { limits } = writer;
  const maxTarBytes = limits.maxUnpackedBytes + (limits.maxEntries + 1) * TAR_OVERHEAD_PER_ENTRY;
  return new Promise((resolve, reject) => {
    const gunzip = zlib.createGunzip({ chunkSize: 64 * 1024 });
    const relPaths = new WeakMap<ReadEntry, string>();
    let failure: SkiffError | undefined;
    let finished = false;
    let chain = Promise.resolve();
    // Rejects on the first failure, so a file being written stops waiting for bytes that never come.
    let abortBody: (err: SkiffError) => void = () => undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      abortBody = reject;
    });
    aborted.catch(() => undefined);
    let tarBytes = 0;
    let sawEof = false;

    const finish = (): void => {
      if (finished) return;
      finished = true;
      void chain.then(() => (failure === undefined ? resolve() : reject(failure)));
    };
    // The first failure wins; it stops the gunzip and the parser, and the file being written.
    const fail = (err: unknown): void => {
      if (failure !== undefined) return;
      failure = err instanceof SkiffError ? err : toSkiffError(err);
      gunzip.destroy();
      parser.abort(new Error(failure.message));
      abortBody(failure);
      finish();
    };

    const parser = new Parser({
      strict: true,
      // The gunzip above is the only decompression: no brotli or zstd sniffing of the tar stream.
      brotli: false,
      zstd: false,
      // Runs on each header, before the entry's body is read: this is where entries are refused.
      filter: (name, entry) => {
        if (failure !== undefined) return false;
        try {
          const { type, size } = entry as ReadEntry;
          writer.countEntry();
          if (!ACCEPTED_TYPES.has(type)) {
            throw unsafeEntry(
              name,
              `is ${TYPE_NAMES[type] ?? `of type ${type}`}; only files and folders are accepted`,
            );
          }
          relPaths.set(entry as ReadEntry, writer.admit(name));
          if (type !== 'Directory') writer.checkDeclaredSize(name, size);
          return true;
        } catch (err) {
          // Never throw inside tar's parser: record the failure and abort instead.
          fail(err);
          return false;
        }
      },
    });
    // Entry types tar does not know (sparse, volume labels...) and oversized pax headers never reach
    // `filter`; tar skips them silently, so refuse the archive here instead.
    parser.on('ignoredEntry', (entry: ReadEntry) => {
      fail(
        unsafeEntry(
          entry.path,
          `has an unsupported tar entry type (${entry.type}); only files and folders are accepted`,
        ),
      );
    });
    parser.on('warn', (_code: string, msg: string) => fail(corrupt(msg)));
    parser.on('error', (err: Error) => fail(corrupt(err.message)));
    parser.on('entry', (entry: ReadEntry) => {
      chain = chain.then(() => writeEntry(entry)).catch(fail);
    });
    parser.on('drain', () => {
      if (failure === undefined) gunzip.resume();
    });
    // After the end-of-archive blocks tar keeps appending whatever follows to an internal buffer, with
    // a copy per chunk; the rest of the gzip stream is still read (to check it) but not handed to tar.
    parser.on('eof', () => {
      sawEof = true;
    });
    parser.on('end', finish);

    const writeEntry = async (entry: ReadEntry): Promise<void> => {
      const rel = relPaths.get(entry);
      if (failure !== undefined || rel === undefined) {
        entry.resume();
        return;
      }
      if (entry.type === 'Directory') {
        entry.resume();
        await writer.mkdir(rel, entry.path);
        return;
      }
      const written = await writer.writeFile(rel, entry.path, fileModeFrom(entry.mode), body(entry, aborted));
      if (written !== entry.size && failure === undefined) {
        fail(corrupt(`entry ${JSON.stringify(entry.path)} is truncated`));
      }
    };

    gunzip.on('data', (chunk: Buffer) => {
      if (failure !== undefined) return;
      tarBytes += chunk.length;
      if (tarBytes > maxTarBytes) {
        fail(
          new SkiffError(
            'SKIFF_E_ARCHIVE_TOO_LARGE',
            `the archive unpacks to more than ${maxTarBytes} bytes of tar data`,
          ),
        );
        return;
      }
      if (tarBytes === chunk.length && isCompressed(chunk)) {
        fail(corrupt('the gzip stream holds another compressed stream; upload a plain tar.gz'));
        return;
      }
      if (sawEof) return;
      try {
        if (!parser.write(chunk)) gunzip.pause();
      } catch (err) {
        fail(corrupt(err instanceof Error ? err.message : String(err)));
      }
    });
    gunzip.on('end', () => {
      if (failure === undefined) parser.end();
    });
    gunzip.on('error', (err) => fail(corrupt(`the gzip stream is damaged: ${err.message}`)));
    gunzip.end(data);
  });
}

/** The entry's bytes, ending early (with the failure) when the extraction is aborted. */
async function* body(entry: ReadEntry, aborted: Promise<never>): AsyncGenerator<Buffer> {
  const chunks = entry[Symbol.asyncIterator]();
  for (;;) {
    const next = await Promise.race([chunks.next(), aborted]);
    if (next.done === true) return;
    yield next.value;
  }
}

/** tar would transparently decompress a nested gzip (or zstd) stream, past the caps applied here. */
function isCompressed(chunk: Buffer): boolean {
  return (
    (chunk[0] === 0x1f && chunk[1] === 0x8b) ||
    (chunk[0] === 0x28 && chunk[1] === 0xb5 && chunk[2] === 0x2f && chunk[3] === 0xfd)
  );
}

function corrupt(detail: string): SkiffError {
  return new SkiffError('SKIFF_E_ARCHIVE_INVALID', `the tar.gz archive is corrupt or unreadable: ${detail}`);
}
