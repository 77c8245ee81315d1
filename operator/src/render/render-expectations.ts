// What render()'s tests (render*.test.ts) check results with, and the two resources most of
// them start from. Not used outside tests.
import assert from 'node:assert/strict';
import { checkBundle } from '../../../bundle/check.ts';
import type { RenderResult } from './render.ts';
import type { IssueReason } from '../../../crds/src/index.ts';
import { domain, mailbox } from './test-resources.ts';

export const exampleCom = () => domain('example-com', { domain: 'example.com', inbound: { aliases: [{ name: 'postmaster', to: ['alice@example.com'] }] } });
export const alice = () => mailbox('alice', { address: 'alice@example.com' });

/** The Error findings of a render, one line each: kind, name, field, reason. */
export function reasons(result: RenderResult): string[] {
  return result.issues.filter((i) => i.severity === 'Error').map((i) => `${i.kind} ${i.name} ${i.field} ${i.reason}`);
}

/** The one finding of a reason; fails the test when there is none or more than one. */
export function only(result: RenderResult, reason: IssueReason) {
  const found = result.issues.filter((i) => i.reason === reason);
  assert.equal(found.length, 1, `expected one ${reason}, got ${JSON.stringify(result.issues, null, 1)}`);
  return found[0] as (typeof found)[number];
}

/** Fails the test unless the MTA's bundle check accepts what render() produced. */
export function assertLoadable(result: RenderResult) {
  const checked = checkBundle(JSON.parse(JSON.stringify(result.bundle)), JSON.parse(JSON.stringify(result.secrets)));
  assert.deepEqual(checked.ok ? [] : checked.errors, []);
}
