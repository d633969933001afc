// A Skiff function in TypeScript (compiled at deploy): the default export gets a Web-standard Request and
// a context, and returns the answer (a Response, a string, bytes, or any JSON value).
// Only erasable type syntax here, so Node.js runs it as it is too (the test: `node --test`).
export interface Context {
  functionName: string;
  version: number;
  log: (...args: unknown[]) => void;
}

export default async (request: Request, ctx: Context): Promise<{ message: string }> => {
  const name = new URL(request.url).searchParams.get('name') ?? 'world';
  ctx.log(`greeting ${name}`);
  return { message: `Hello, ${name}!` };
};
