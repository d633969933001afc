/**
 * Red team (issue 17): YAML tricks in an imported configuration. Aliases are bounded (100), so the
 * classic bombs are refused; what remained was amplification through aliases of one big scalar
 * (within the bound, 1 MiB of YAML became ~90 MiB): as environment values deployed with every
 * function, and as the text of an error message. An environment value larger than Linux passes to
 * a process (128 KiB) could never have worked; the sizes are now refused, and messages show a value's
 * kind rather than the value when it is not a scalar.
 */
import { describe, expect, it } from 'vitest';
import { planImport } from '../../src/compat/baetyl/import-config.js';
import { SkiffError } from '../../src/shared/errors.js';

const facts = {
  maxInstancesCeiling: 10,
  maxTimeoutMs: 60_000,
  maxMessageBytes: 4 << 20,
  brokerUrl: undefined,
};
const plan = (text: string) => planImport({ config: { name: 'module.yml', text } }, facts);

function refusal(text: string): SkiffError {
  try {
    plan(text);
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    return err as SkiffError;
  }
  throw new Error('not refused');
}

const BIG = 'x'.repeat(900_000);
const fn = (extra: string) =>
  `big: &big ${BIG}\nfunctions:\n  - { name: f, runtime: python3, handler: index.handler, codedir: app${extra} }\n`;

describe('the YAML of an import', () => {
  it('refuses alias bombs, deep nesting and duplicate keys as invalid YAML', () => {
    let laughs = 'a: &a [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++)
      laughs += `a${i}: &a${i} [${Array(10)
        .fill(i === 1 ? '*a' : `*a${i - 1}`)
        .join(', ')}]\n`;
    for (const text of [
      laughs,
      `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      'functions: []\nfunctions: []\n',
    ]) {
      const error = refusal(text);
      expect(error.code).toBe('SKIFF_E_INVALID_SPEC');
      expect(error.message).toMatch(/^module\.yml: not valid YAML/);
    }
  });

  it('takes a !!js/function tag as plain text, never code', () => {
    const planned = plan(fn(', env: { A: !!js/function "function () { return 1 }" }'));
    expect(planned.functions[0]?.env).toEqual({ A: 'function () { return 1 }' });
  });

  it('refuses an environment value larger than a process can be given', () => {
    const error = refusal(fn(', env: { A: *big }'));
    expect(error.message).toContain('functions[0].env.A');
    expect(error.message.length).toBeLessThan(1000);
  });

  it('refuses environment values that add up to more than a process can be given', () => {
    const value = 'y'.repeat(100_000);
    const env = Array.from({ length: 40 }, (_, i) => `K${i}: *v`).join(', ');
    const error = refusal(`v: &v ${value}\n${fn(`, env: { ${env} }`).split('\n').slice(1).join('\n')}`);
    expect(error.message).toContain('functions[0].env');
  });

  it('names a non-scalar value by its kind in a message, not by its (aliased) text', () => {
    const list = Array(90).fill('*big').join(', ');
    const text = `${fn('')}rules:\n  - { compute: { function: f }, subscribe: { topic: t, qos: [${list}] }, publish: { topic: p } }\n`;
    const error = refusal(text);
    expect(error.message).toContain('rules[0].subscribe.qos');
    expect(error.message.length).toBeLessThan(1000);
  });
});

describe('the cost of reading an import', () => {
  it('a mapping of 60 000 keys (700 KB) is read in linear time, duplicates still refused', () => {
    const keys = Array.from({ length: 60_000 }, (_, i) => `k${i}: ${i}`);
    const started = Date.now();
    expect(() => plan(`x:\n  ${keys.join('\n  ')}\nfunctions: []\n`)).not.toThrow();
    // the yaml package's own check compared every key with every other: about 30 s here
    expect(Date.now() - started).toBeLessThan(8000);
    const error = refusal(`x:\n  ${keys.join('\n  ')}\n  k59999: again\nfunctions: []\n`);
    expect(error.message).toMatch(/not valid YAML: Map keys must be unique: "k59999" at line 60002/);
  });

  it('refuses a duplicate key nested in a list, and lets merge keys repeat', () => {
    expect(refusal('functions:\n  - { name: a, name: b }\n').message).toContain('Map keys must be unique');
    const merged = plan(
      'b: &b { runtime: python3 }\nh: &h { handler: index.handler }\nfunctions:\n  - { <<: *b, <<: *h, name: f }\n',
    );
    expect(merged.functions[0]).toMatchObject({ name: 'f', runtime: 'python', handler: 'index.handler' });
  });
});

describe('rules that feed each other', () => {
  const rule = (fn: string, sub: string, pub: string) =>
    `  - { compute: { function: ${fn} }, subscribe: { topic: "${sub}" }, publish: { topic: "${pub}" } }\n`;
  const fns =
    'functions:\n  - { name: a, runtime: python3, handler: index.handler }\n  - { name: b, runtime: python3, handler: index.handler }\n';

  it('are warned about, across functions and across one function’s rules', () => {
    const across = plan(`${fns}rules:\n${rule('a', 'in/a', 'in/b')}${rule('b', 'in/b', 'in/a')}`);
    expect(across.warnings.join('\n')).toMatch(
      /results of a, b are published on topics their rules subscribe to/,
    );
    const within = plan(`${fns}rules:\n${rule('a', 'x', 'y')}${rule('a', 'y', 'x')}`);
    expect(within.warnings.join('\n')).toMatch(/results of a are published/);
  });

  it('a chain without a loop is not', () => {
    const chain = plan(`${fns}rules:\n${rule('a', 'in', 'mid')}${rule('b', 'mid', 'out')}`);
    expect(chain.warnings.join('\n')).not.toContain('without end');
  });
});
