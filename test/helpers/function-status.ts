import type { TestPlatform } from './platform.js';

export interface FunctionStatusView {
  instances: { id: string; version: number; pid: number | null; state: string; inFlight: number }[];
  status: { queued: number; inFlight: number };
}

/** A function's instances and load as the control API shows them (`GET /v1/functions/<name>`). */
export async function functionStatus(
  p: Pick<TestPlatform, 'api'>,
  name: string,
): Promise<FunctionStatusView> {
  const res = await p.api(`/v1/functions/${name}`);
  if (res.status !== 200) throw new Error(`GET /v1/functions/${name}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { function: FunctionStatusView }).function;
}

/** Whether a call to the function is running now (for "while a call is in flight" steps). */
export async function hasCallInFlight(p: Pick<TestPlatform, 'api'>, name: string): Promise<boolean> {
  return (await functionStatus(p, name)).status.inFlight > 0;
}
