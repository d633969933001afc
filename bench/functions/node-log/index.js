// The Node hello world that also logs one line on every call: the cost of a function's logging.
let calls = 0;
export default async () => {
  calls++;
  console.log(`hello called (${calls})`);
  return new Response('Hello, world!\n', { headers: { 'content-type': 'text/plain' } });
};
