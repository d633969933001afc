// Runs without Skiff: `node --test` (Node.js 20 or later).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import handler from './index.mjs';

const ctx = { functionName: 'test', version: 1, log: () => {} };

test('greets the name in the query', async () => {
  const answer = await handler(new Request('http://localhost/?name=ann'), ctx);
  assert.deepEqual(answer, { message: 'Hello, ann!' });
});

test('greets the world without one', async () => {
  const answer = await handler(new Request('http://localhost/'), ctx);
  assert.deepEqual(answer, { message: 'Hello, world!' });
});
