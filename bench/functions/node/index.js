// The benchmark's hello world for Skiff's Node runtime: the same 14-byte body as every baseline.
export default async () => new Response('Hello, world!\n', { headers: { 'content-type': 'text/plain' } });
