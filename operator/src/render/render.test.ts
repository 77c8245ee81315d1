// render() as a specification: each rule of the bundle, each way a resource can be
// wrong, and what stays served when one is. This file: what holds for
// every input (determinism); the rules by resource are in render-domains, render-mailboxes,
// render-aliases and render-relays.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from './render.ts';
import { domain, input, key, mailbox, relay } from './test-resources.ts';
import { alice, exampleCom } from './render-expectations.ts';

test('the same input renders byte-identical output whatever the order of resources', () => {
  const parts = {
    domains: [exampleCom(), domain('b', { domain: 'b.example' })],
    mailboxes: [alice(), mailbox('bob', { address: 'bob@example.com', aliases: ['robert@example.com'] })],
    relays: [relay('r', { host: 'r.example', default: true })],
    dkimKeys: [key('example.com', 'stafette'), key('b.example', 'stafette')],
  };
  const forward = render(input(parts));
  const reversed = render(
    input({
      domains: [...parts.domains].reverse(),
      mailboxes: [...parts.mailboxes].reverse(),
      relays: parts.relays,
      dkimKeys: [...parts.dkimKeys].reverse(),
    }),
  );
  assert.equal(JSON.stringify(reversed.bundle), JSON.stringify(forward.bundle));
  assert.equal(JSON.stringify(reversed.secrets), JSON.stringify(forward.secrets));
  assert.equal(forward.bundle.revision, forward.secrets.revision);
});
