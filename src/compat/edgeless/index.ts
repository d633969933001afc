/**
 * EDGELESS as a dialect (docs/compat/edgeless.md): with `compat.edgeless.enabled` (`skiff serve
 * --edgeless`) Skiff is an EDGELESS node. `PUT /v1/workflows/{name}` takes EDGELESS workflow JSON;
 * its `grpc:<url>` functions are attached instances driven over the guest API (node.ts, instance.ts,
 * host-service.ts), its file-log resources write files, and Skiff's own functions take part as
 * `skiff:<function>`. It has no flavor: its functions are not Skiff functions.
 */
import type { Dialect } from '../dialect.js';
import { edgelessSectionSchema, type EdgelessSection } from './config.js';
import { edgelessFlags } from './flags.js';

export const edgeless: Dialect<EdgelessSection> = {
  name: 'edgeless',
  config: { schema: edgelessSectionSchema },
  flavors: [],
  flags: edgelessFlags,
  async enable(ctx, section) {
    const { EdgelessNode } = await import('./node.js');
    const node = new EdgelessNode(ctx, section);
    // the names are taken up now, before the async queue delivers anything to them
    node.restore();
    return {
      workflowFormats: [node.format],
      listeners: {
        // boots the attached instances once the platform listens; stops them (Stop) at shutdown
        node: () => {
          node.start();
          return Promise.resolve({ stop: () => node.stop() });
        },
      },
      notes: [
        `EDGELESS node ${node.nodeId}: apply EDGELESS workflow JSON with \`skiff workflow apply <file> --name <name>\``,
      ],
    };
  },
};
