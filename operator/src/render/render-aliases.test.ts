// render() as a specification: each rule of the bundle, each way a resource can be
// wrong, and what stays served when one is. This file: aliases and
// the catch-all.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { render } from './render.ts';
import { domain, input, mailbox } from './test-resources.ts';
import { alice, assertLoadable, only, reasons } from './render-expectations.ts';

describe('aliases and catch-all', () => {
  test('Mailbox aliases and MailDomain aliases both become alias entries', () => {
    const m = mailbox('alice', { address: 'alice@example.com', aliases: ['a.smith@example.com'] });
    const bob = mailbox('bob', { address: 'bob@example.com' });
    const d = domain('example-com', {
      domain: 'example.com',
      inbound: {
        aliases: [
          { name: 'postmaster', to: ['alice@example.com'] },
          { name: 'team', to: ['alice@example.com', 'Bob@example.com', 'friend@elsewhere.example'] },
        ],
      },
    });
    const result = render(input({ domains: [d], mailboxes: [m, bob] }));
    assert.deepEqual(
      result.bundle.aliases.map((a) => [a.address, a.to]),
      [
        ['a.smith@example.com', ['alice@example.com']],
        ['postmaster@example.com', ['alice@example.com']],
        ['team@example.com', ['alice@example.com', 'bob@example.com', 'friend@elsewhere.example']],
      ],
    );
    assert.deepEqual(reasons(result), []);
    assertLoadable(result);
  });

  test('an alias that points nowhere is reported and left out', () => {
    const d = domain('example-com', {
      domain: 'example.com',
      inbound: {
        aliases: [
          { name: 'postmaster', to: ['alice@example.com'] },
          { name: 'sales', to: ['nobody@example.com'] },
        ],
      },
    });
    const result = render(input({ domains: [d], mailboxes: [alice()] }));
    const issue = only(result, 'AliasTargetNotFound');
    assert.equal(issue.field, 'spec.inbound.aliases[1].to');
    assert.match(issue.message, /sales@example.com points to nobody@example.com/);
    assert.deepEqual(
      result.bundle.aliases.map((a) => a.address),
      ['postmaster@example.com'],
    );
  });

  test('an alias target with a +tag reaches the mailbox without the tag', () => {
    const d = domain('example-com', { domain: 'example.com', inbound: { aliases: [{ name: 'postmaster', to: ['alice+postmaster@example.com'] }] } });
    assert.deepEqual(reasons(render(input({ domains: [d], mailboxes: [alice()] }))), []);
  });

  test('aliases that lead back to themselves are reported', () => {
    const d = domain('example-com', {
      domain: 'example.com',
      inbound: {
        aliases: [
          { name: 'postmaster', to: ['alice@example.com'] },
          { name: 'a', to: ['b@example.com'] },
          { name: 'b', to: ['a@example.com'] },
        ],
      },
    });
    const result = render(input({ domains: [d], mailboxes: [alice()] }));
    assert.deepEqual(reasons(result).sort(), [
      'MailDomain example-com spec.inbound.aliases[1].to AliasLoop',
      'MailDomain example-com spec.inbound.aliases[2].to AliasLoop',
    ]);
  });

  test("an alias cannot take a mailbox's address", () => {
    const d = domain('example-com', { domain: 'example.com', inbound: { aliases: [{ name: 'alice', to: ['bob@example.com'] }] } });
    const result = render(input({ domains: [d], mailboxes: [alice(), mailbox('bob', { address: 'bob@example.com' })] }));
    assert.equal(only(result, 'AddressConflict').field, 'spec.inbound.aliases[0].name');
  });

  test('the catch-all must be a claimed address of ours, or any address elsewhere', () => {
    const good = domain('example-com', { domain: 'example.com', inbound: { catchAll: 'alice@example.com' } });
    assert.equal(render(input({ domains: [good], mailboxes: [alice()] })).bundle.domains[0]?.inbound.catchAll, 'alice@example.com');
    const bad = domain('example-com', { domain: 'example.com', inbound: { catchAll: 'ghost@example.com' } });
    const result = render(input({ domains: [bad], mailboxes: [alice()] }));
    assert.equal(only(result, 'CatchAllTargetNotFound').field, 'spec.inbound.catchAll');
    assert.equal(result.bundle.domains[0]?.inbound.catchAll, null);
  });
});
