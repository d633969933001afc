/**
 * Red team 2, hostile TENANT applying workflows: making Skiff dial a cloud metadata service.
 *
 * `grpc:<url>` refuses "link-local and unspecified addresses (cloud metadata)" (docs/security.md), but
 * AWS's IPv6 instance metadata endpoint `fd00:ec2::254` is a unique-local address, not link-local:
 * `grpc:http://[fd00:ec2::254]:80` is accepted and Skiff dials it (Boot retried for bootTimeoutMs).
 * (A host name such as GCP's `metadata.google.internal` passes too: the check is lexical, never on
 * the resolved address.)
 *
 * This test holds the workflow's plan and member checks (what PUT /v1/workflows runs before it
 * commits) rather than a running platform: applying it for real would send a SYN towards the address
 * through this host's default IPv6 route, and red-team tests stay on 127.0.0.1.
 */
import { describe, expect, it } from 'vitest';
import { membersOf } from '../../src/compat/edgeless/members.js';
import { planEdgelessWorkflow } from '../../src/compat/edgeless/workflow-json.js';
import { edgelessWorkflow } from '../helpers/edgeless-guests.js';
import { OPTIONS } from '../helpers/edgeless-workflow.js';

const checks = { attachedElsewhere: new Map(), attachedCount: 0, maxInstances: 64, refused: [] };

const refusal = (code: string): string => {
  const plan = planEdgelessWorkflow(edgelessWorkflow([{ name: 'm', code }]), OPTIONS);
  try {
    membersOf('wf', plan, checks);
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('red2: grpc:<url> naming a cloud metadata service', () => {
  it('refuses 169.254.169.254 (the check exists)', () => {
    expect(refusal('grpc:http://169.254.169.254:80')).toMatch(/link-local/);
  });

  it("refuses AWS's IPv6 metadata endpoint fd00:ec2::254 like 169.254.169.254", () => {
    expect(refusal('grpc:http://[fd00:ec2::254]:80')).toMatch(/Skiff does not dial it/);
  });
});
