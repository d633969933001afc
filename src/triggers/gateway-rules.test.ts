import { describe, expect, it } from 'vitest';
import { selectRules, type GatewayRules } from './gateway-rules.js';
import { SKIFF_RULES, skiffRoute } from './skiff-rules.js';

const rules = (tag: string): GatewayRules => ({
  ...SKIFF_RULES,
  route: (url) => ({ ...skiffRoute(url), query: tag }),
});

describe('selectRules', () => {
  const port = rules('port');
  const a = rules('a');
  const ab = rules('ab');
  const prefixed = [
    { prefix: '/a/b', rules: ab },
    { prefix: '/a', rules: a },
  ];

  it('gives the port’s rules and the whole URL outside every prefix', () => {
    expect(selectRules('/hello/x?y=1', port, prefixed)).toEqual({ rules: port, url: '/hello/x?y=1' });
    // a name that merely starts like a prefix is not under it
    expect(selectRules('/abc', port, prefixed)).toEqual({ rules: port, url: '/abc' });
  });

  it('takes the prefix off for the rules under it', () => {
    expect(selectRules('/a/fn/rest?q', port, prefixed)).toEqual({ rules: a, url: '/fn/rest?q' });
    expect(selectRules('/a/b/fn', port, prefixed)).toEqual({ rules: ab, url: '/fn' });
    expect(selectRules('/a', port, prefixed)).toEqual({ rules: a, url: '/' });
    expect(selectRules('/a?x=1', port, prefixed)).toEqual({ rules: a, url: '/?x=1' });
  });
});

describe('Skiff’s own rules', () => {
  it('route /{name}/{rest} with the query', () => {
    expect(skiffRoute('/fn/a/b?c=1')).toEqual({ name: 'fn', path: '/a/b', query: 'c=1' });
    expect(skiffRoute('/fn')).toEqual({ name: 'fn', path: '/', query: '' });
  });
});
