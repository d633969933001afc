import { describe, expect, it } from 'vitest';
import { isTransientSandboxFailure } from './bubblewrap.js';

describe('isTransientSandboxFailure', () => {
  it("knows bubblewrap's passing loopback set-up fault, and nothing of the function's", () => {
    expect(
      isTransientSandboxFailure({ stderr: 'bwrap: loopback: Failed RTM_NEWADDR: No child processes' }),
    ).toBe(true);
    expect(
      isTransientSandboxFailure({
        stderr: 'SyntaxError: Unexpected token\nbwrap: execvp node: No such file',
      }),
    ).toBe(false);
    expect(isTransientSandboxFailure({ stderr: 'print("bwrap: loopback: ") in user output' })).toBe(false);
    expect(isTransientSandboxFailure(undefined)).toBe(false);
    expect(isTransientSandboxFailure({ stderr: 42 })).toBe(false);
  });
});
