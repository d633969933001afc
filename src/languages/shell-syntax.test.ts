import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeShellError, shellOf } from './shell-syntax.js';

describe('shell scripts checked at deploy', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'skiff-shell-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['#!/bin/sh\necho', 'sh'],
    ['#! /bin/bash -e\n', 'bash'],
    ['#!/usr/bin/env bash\n', 'bash'],
    ['#!/usr/bin/dash', 'dash'],
    ['#!/usr/bin/env python3\n', undefined],
    ['#!/bin/zsh\n', undefined],
    ['\x7fELF\x02\x01', undefined],
    ['echo no shebang\n', 'sh'],
  ])('%j is run by %s', async (head, shell) => {
    const file = path.join(dir, 'fn');
    await writeFile(file, head);
    expect(await shellOf(file)).toBe(shell);
  });

  it("places dash's and bash's messages as file:line", () => {
    expect(placeShellError('fn.sh: 5: Syntax error: end of file unexpected (expecting "fi")', 'fn.sh')).toBe(
      'fn.sh:5: Syntax error: end of file unexpected (expecting "fi")',
    );
    expect(placeShellError("fn.sh: line 2: syntax error near unexpected token `)'", 'fn.sh')).toBe(
      "fn.sh:2: syntax error near unexpected token `)'",
    );
    expect(placeShellError('bash: fn.sh: line 7: unexpected EOF', 'fn.sh')).toBe('fn.sh:7: unexpected EOF');
    expect(placeShellError('something else', 'fn.sh')).toBe('something else');
  });
});
