/** What Skiff runs for upstream's build commands, and how runtime ids become function names. */
import { describe, expect, it } from 'vitest';
import { installLine } from './build-step.js';
import { functionName } from './runtimes.js';
import { buildKeys, languageOf, runtimeEnv } from './runtime-spec.js';

describe('installLine', () => {
  it.each([
    ['tar -zxf /tmp/code.tar.gz -C /mnt/code && bash helpers/build.sh "npm install"', 'npm install'],
    [
      'tar -zxf /tmp/code.tar.gz -C /mnt/code && bash helpers/build.sh "npm install && npm run build"',
      'npm install && npm run build',
    ],
    [
      "tar -zxf /tmp/code.tar.gz -C /mnt/code && helpers/build.sh 'pip install -r requirements.txt'",
      'pip install -r requirements.txt',
    ],
    ['tar -zxf /tmp/code.tar.gz -C /mnt/code && bash helpers/build.sh ""', ''],
    ['tar -xf /tmp/code.tar -C /mnt/code && bash helpers/build.sh "echo \\"quoted\\""', 'echo "quoted"'],
    ['bash helpers/build.sh "npm ci"', 'npm ci'],
    ['cp doesnotexist.js doesnotexist2.js', 'cp doesnotexist.js doesnotexist2.js'],
    // what is chained after build.sh runs after the install, on its exit status
    [
      'tar -zxf /tmp/code.tar.gz -C /mnt/code && bash helpers/build.sh "npm install" && echo "K=$K"',
      '{ npm install\n} && echo "K=$K"',
    ],
    ['bash helpers/build.sh "a || b" || echo failed', '{ a || b\n} || echo failed'],
    ['bash helpers/build.sh "" && echo only', 'true && echo only'],
    ['bash helpers/build.sh npm ci', 'npm ci'],
    // a step before build.sh that is not an unpack keeps the whole command as written
    ['rm -rf / && bash helpers/build.sh "npm install"', 'rm -rf / && bash helpers/build.sh "npm install"'],
  ])('%s → %s', (command, line) => {
    expect(installLine(command)).toBe(line);
  });
});

describe('functionName', () => {
  it('prefixes a valid name and hashes anything else into one', () => {
    expect(functionName('test-exec')).toBe('opr-test-exec');
    expect(functionName('Test.Exec')).toMatch(/^opr-[0-9a-f]{24}$/);
    expect(functionName('Test.Exec')).not.toBe(functionName('test.exec'));
    expect(functionName('x'.repeat(64))).toMatch(/^opr-[0-9a-f]{24}$/);
  });
});

describe('languageOf and runtimeEnv', () => {
  it('maps images by language and refuses others', () => {
    expect(languageOf('openruntimes/node:v5-22')).toBe('node');
    expect(languageOf('openruntimes/python:v5-3.12')).toBe('python');
    expect(() => languageOf('openruntimes/php:v5-8.1')).toThrow(/openruntimes\/php:v5-8.1 is not supported/);
  });

  it("puts upstream's variables over the client's and refuses names that are not variable names", () => {
    const env = runtimeEnv(
      {
        variables: { A: '1', OPEN_RUNTIMES_CPUS: '9' },
        entrypoint: 'index.js',
        cpus: 2,
        memory: 256,
        outputDirectory: '',
      },
      'k',
      'opr-x',
    );
    expect(env).toMatchObject({ A: '1', OPEN_RUNTIMES_CPUS: '2', OPEN_RUNTIMES_MEMORY: '256', CI: 'true' });
    expect(() =>
      runtimeEnv(
        { variables: { 'a-b': '1' }, entrypoint: '', cpus: 1, memory: 1, outputDirectory: '' },
        'k',
        'h',
      ),
    ).toThrow(/not a variable name/);
  });
});

describe('buildKeys', () => {
  it("names the client's variables, comma-separated, without the executor's OPEN_RUNTIMES_* settings", () => {
    expect(buildKeys({ TEST_VAR: 'x', API_URL: 'y', OPEN_RUNTIMES_BUILD_COMPRESSION: 'none' })).toBe(
      'TEST_VAR,API_URL',
    );
    expect(buildKeys({})).toBe('');
  });
});
