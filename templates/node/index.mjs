// A Skiff function: the default export gets a Web-standard Request and a context, and returns the answer
// (a Response, a string, bytes, or any JSON value). Try it: curl '<gateway>/<name>?name=you'
export default async (request, ctx) => {
  const name = new URL(request.url).searchParams.get('name') ?? 'world';
  ctx.log(`greeting ${name}`);
  return { message: `Hello, ${name}!` };
};
