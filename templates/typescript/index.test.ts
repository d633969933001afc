// Runs without Skiff: `node --test` on Node.js 22.18 or later (it runs TypeScript as it is); on an older
// Node.js, `npx tsx --test index.test.ts`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import handler, { type Context } from './index.ts';

const ctx: Context = { functionName: 'test', version: 1, log: () => {} };

test('greets the name in the query', async () => {
  const answer = await handler(new Request('http://localhost/?name=ann'), ctx);
  assert.deepEqual(answer, { message: 'Hello, ann!' });
});

test('greets the world without one', async () => {
  const answer = await handler(new Request('http://localhost/'), ctx);
  assert.deepEqual(answer, { message: 'Hello, world!' });
});
