// Baseline: the same hello world as a workerd (Cloudflare Workers runtime) module worker.
export default {
  async fetch() {
    return new Response('Hello, world!\n', { headers: { 'content-type': 'text/plain' } });
  },
};
