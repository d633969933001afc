/**
 * The conformance function for the Node.js bridge (docs/runtime-protocol.md, section 9): answers by
 * request path so that `skiff runtime test` can drive every protocol case.
 *
 *   skiff runtime test --function runtimes/node/conformance --handler index.mjs -- node dist/runtimes/node/bridge.js
 */
/* eslint-disable no-console -- console output of an invocation is what the log case checks */

/** Waits `ms`, or rejects as soon as the invocation is cancelled. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

export default async function conformance(request, ctx) {
  const path = new URL(request.url).pathname;

  if (path === '/echo') {
    const headers = { 'x-method': request.method };
    const type = request.headers.get('content-type');
    if (type !== null) headers['content-type'] = type;
    const body = new Uint8Array(await request.arrayBuffer());
    return new Response(body, { status: 200, headers });
  }

  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status !== null) {
    return new Response(`status ${status[1]}`, {
      status: Number(status[1]),
      headers: { 'x-status': status[1] },
    });
  }

  if (path === '/error') throw new Error('conformance-error');

  if (path === '/crash') process.exit(7);

  const sleepFor = /^\/sleep\/(\d+)$/.exec(path);
  if (sleepFor !== null) {
    await sleep(Number(sleepFor[1]), ctx.signal);
    return 'slept';
  }

  if (path === '/log') {
    console.log('conformance-log');
    return 'logged';
  }

  if (path === '/env') {
    return { fn: ctx.functionName, version: ctx.version, id: ctx.invocationId };
  }

  if (path === '/trace') {
    return { traceId: ctx.traceId, traceparent: ctx.traceparent, tracestate: ctx.tracestate };
  }

  if (path === '/call') {
    try {
      const res = await ctx.call('conformance-callee', await request.text(), { path: '/callee' });
      return `${res.status} ${res.headers.get('x-callee')} ${await res.text()}`;
    } catch (err) {
      return `failed ${err.code}`;
    }
  }

  if (path === '/state') {
    const version = await ctx.state.set('conformance', { n: 1 }, { ifVersion: 0 });
    const got = await ctx.state.get('conformance');
    try {
      await ctx.state.set('conformance', { n: got.value.n + 1 }, { ifVersion: got.version });
      return 'no conflict';
    } catch (err) {
      return `${version} ${JSON.stringify(got.value)}@${got.version} ${err.code}`;
    }
  }

  if (path === '/cast') {
    try {
      return `cast ${await ctx.cast('conformance-callee', await request.text(), { delayMs: 250 })}`;
    } catch (err) {
      return `failed ${err.code}`;
    }
  }

  return new Response(`no conformance behaviour for ${path}`, { status: 404 });
}
