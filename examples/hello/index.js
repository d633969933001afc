// The example function: `export default` a handler that takes a Web-standard Request.
export default async (request, ctx) => {
  const url = new URL(request.url);
  const name = url.searchParams.get('name') ?? 'world';
  ctx.log(`greeting ${name}`);
  return { message: `Hello, ${name}!`, function: ctx.functionName, version: ctx.version };
};
