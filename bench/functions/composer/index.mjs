// Times `n` sequential ctx.call (or ctx.cast) round trips inside one invocation (bench/suites/composition.ts).
// GET /call?n=200&to=hello → { samplesMs: [...] }; GET /cast?n=200&to=hello → the same for casts.
export default async (request, ctx) => {
  const url = new URL(request.url);
  const n = Math.min(Number(url.searchParams.get('n') ?? '100'), 2000);
  const to = url.searchParams.get('to') ?? 'hello';
  const kind = url.pathname === '/cast' ? 'cast' : 'call';
  if (kind === 'cast' && typeof ctx.cast !== 'function') {
    return Response.json({ error: 'this platform has no ctx.cast' }, { status: 501 });
  }
  const samplesMs = [];
  for (let i = 0; i < n; i++) {
    const began = performance.now();
    if (kind === 'call') {
      const res = await ctx.call(to, undefined, { method: 'GET' });
      await res.arrayBuffer();
    } else {
      await ctx.cast(to, `${i}`);
    }
    samplesMs.push(performance.now() - began);
  }
  return Response.json({ kind, samplesMs });
};
