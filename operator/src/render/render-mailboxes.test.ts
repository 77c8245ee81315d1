// render() as a specification: each rule of the bundle, each way a resource can be
// wrong, and what stays served when one is. This file: Mailboxes
// (addresses, passwords, delivery targets, what is left out).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { render } from './render.ts';
import { domain, input, mailbox, secret } from './test-resources.ts';
import { alice, assertLoadable, exampleCom, only, reasons } from './render-expectations.ts';

describe('mailboxes', () => {
  test('addresses are stored normalised and the password is hashed into the secret part', () => {
    const m = mailbox('alice', { address: 'Alice@example.com', passwordSecretRef: { name: 'pw' } });
    const result = render(input({ domains: [exampleCom()], mailboxes: [m], secrets: [secret('pw', { password: 's3cret' }, 'password')] }));
    assert.equal(result.bundle.mailboxes[0]?.address, 'alice@example.com');
    assert.equal(result.bundle.mailboxes[0]?.login, true);
    assert.equal(result.secrets.passwords['alice@example.com'], '$test$alice@example.com$s3cret');
  });

  test('a password that is already a scrypt hash is stored as it is', () => {
    const hash = `$scrypt$ln=15,r=8,p=1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`;
    const m = mailbox('alice', { address: 'alice@example.com', passwordSecretRef: { name: 'pw', key: 'hash' } });
    const result = render(input({ domains: [exampleCom()], mailboxes: [m], secrets: [secret('pw', { hash }, 'password')] }));
    assert.equal(result.secrets.passwords['alice@example.com'], hash);
  });

  test('a pre-hashed password of another cost (or another scheme) is refused on the Mailbox, which still receives mail', () => {
    const expensive = `$scrypt$ln=20,r=16,p=1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`;
    for (const hash of [expensive, '$2b$10$abcdefghijklmnopqrstuv']) {
      const m = mailbox('alice', { address: 'alice@example.com', passwordSecretRef: { name: 'pw', key: 'hash' } });
      const result = render(input({ domains: [exampleCom()], mailboxes: [m], secrets: [secret('pw', { hash }, 'password')] }));
      assert.equal(result.secrets.passwords['alice@example.com'], undefined);
      assert.equal(result.bundle.mailboxes[0]?.login, false);
      assert.deepEqual(reasons(result), ['Mailbox alice spec.passwordSecretRef.key PasswordHashNotAccepted']);
    }
  });

  test('a Mailbox whose domain has no MailDomain is left out and reported', () => {
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice(), mailbox('eve', { address: 'eve@nowhere.example' })] }));
    assert.deepEqual(
      result.bundle.mailboxes.map((m) => m.address),
      ['alice@example.com'],
    );
    assert.deepEqual(reasons(result), ['Mailbox eve spec.address DomainNotFound']);
  });

  test('a Mailbox in another namespace than its MailDomain cannot claim the address', () => {
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice(), mailbox('mallory', { address: 'ceo@example.com' }, 'tenant-b')] }));
    assert.match(only(result, 'DomainNotFound').message, /addresses must be declared in the same namespace/);
    assert.equal(result.bundle.mailboxes.length, 1);
  });

  test('two Mailboxes claiming one address: the older keeps it, the newer is reported', () => {
    const first = alice();
    const second = mailbox('alice-2', { address: 'ALICE@example.com' });
    const result = render(input({ domains: [exampleCom()], mailboxes: [second, first] }));
    assert.deepEqual(
      result.bundle.mailboxes.map((m) => m.source.name),
      ['alice'],
    );
    const issue = only(result, 'AddressConflict');
    assert.equal(issue.name, 'alice-2');
    assert.equal(issue.field, 'spec.address');
  });

  test('a missing password Secret or key disables login but keeps the mailbox receiving', () => {
    const noSecret = mailbox('a', { address: 'a@example.com', passwordSecretRef: { name: 'absent' } });
    const noKey = mailbox('b', { address: 'b@example.com', passwordSecretRef: { name: 'pw', key: 'other' } });
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice(), noSecret, noKey], secrets: [secret('pw', { password: 'x' }, 'password')] }));
    assert.deepEqual(
      result.bundle.mailboxes.map((m) => [m.address, m.login]),
      [
        ['a@example.com', false],
        ['alice@example.com', false],
        ['b@example.com', false],
      ],
    );
    assert.deepEqual(reasons(result), ['Mailbox a spec.passwordSecretRef PasswordSecretNotFound', 'Mailbox b spec.passwordSecretRef.key PasswordKeyNotFound']);
    assertLoadable(result);
  });

  test('each delivery kind becomes its bundle target; unset means the MTA default', () => {
    const mailboxes = [
      mailbox('l', { address: 'l@example.com', delivery: { lmtp: { host: 'dovecot' } } }),
      mailbox('m', { address: 'm@example.com', delivery: { maildir: { path: '/var/mail/m' } } }),
      mailbox('f', { address: 'f@example.com', delivery: { forward: { to: ['someone@elsewhere.example'] } } }),
      mailbox('w', { address: 'w@example.com', delivery: { webhook: { url: 'https://hooks.example/in', secretRef: { name: 'hook' } } } }),
      alice(),
    ];
    const result = render(input({ domains: [exampleCom()], mailboxes, secrets: [secret('hook', { 'hmac-key': 'k' }, 'webhook')] }));
    assert.deepEqual(Object.fromEntries(result.bundle.mailboxes.map((m) => [m.address, m.delivery])), {
      'alice@example.com': { type: 'local' },
      'f@example.com': { type: 'forward', to: ['someone@elsewhere.example'], keepCopy: false },
      'l@example.com': { type: 'lmtp', host: 'dovecot', port: 24 },
      'm@example.com': { type: 'maildir', path: '/var/mail/m' },
      'w@example.com': { type: 'webhook', url: 'https://hooks.example/in' },
    });
    assert.deepEqual(result.secrets.webhookKeys, { 'w@example.com': 'k' });
    assertLoadable(result);
  });

  test('delivery targets outside the platform allow-lists are refused on the Mailbox and left out; the default LMTP host is allowed', () => {
    const mailboxes = [
      mailbox('l', { address: 'l@example.com', delivery: { lmtp: { host: 'postgres.db.svc.cluster.local' } } }),
      mailbox('d', { address: 'd@example.com', delivery: { lmtp: { host: 'dovecot.mail' } } }),
      mailbox('m', { address: 'm@example.com', delivery: { maildir: { path: '/var/mail/../../etc/cron.d' } } }),
      mailbox('w', { address: 'w@example.com', delivery: { webhook: { url: 'https://169.254.169.254/latest', secretRef: { name: 'hook' } } } }),
      mailbox('h', { address: 'h@example.com', delivery: { webhook: { url: 'http://hooks.example/in', secretRef: { name: 'hook' } } } }),
      alice(),
    ];
    const result = render({
      ...input({ domains: [exampleCom()], mailboxes, secrets: [secret('hook', { 'hmac-key': 'k' }, 'webhook')] }),
      defaultDelivery: { type: 'lmtp', host: 'dovecot.mail', port: 24 },
    });
    assert.deepEqual(
      result.bundle.mailboxes.map((m) => m.address),
      ['alice@example.com', 'd@example.com'],
    );
    assert.deepEqual(reasons(result).sort(), [
      'Mailbox h spec.delivery.webhook.url DeliveryTargetNotAllowed',
      'Mailbox l spec.delivery.lmtp.host DeliveryTargetNotAllowed',
      'Mailbox m spec.delivery.maildir.path DeliveryTargetNotAllowed',
      'Mailbox w spec.delivery.webhook.url DeliveryTargetNotAllowed',
    ]);
    assertLoadable(result);
  });

  test("a mailbox without delivery gets the installation's default target when one is given", () => {
    const result = render({ ...input({ domains: [exampleCom()], mailboxes: [alice()] }), defaultDelivery: { type: 'lmtp', host: 'dovecot.mail', port: 24 } });
    assert.deepEqual(
      result.bundle.mailboxes.map((m) => [m.address, m.delivery]),
      [['alice@example.com', { type: 'lmtp', host: 'dovecot.mail', port: 24 }]],
    );
    assert.deepEqual(
      result.issues.filter((i) => i.kind === 'Mailbox'),
      [],
    );
  });

  test('with no default target, a mailbox without delivery is reported and left out, so its mail is refused instead of queued for days', () => {
    const l = mailbox('l', { address: 'l@example.com', delivery: { lmtp: { host: 'dovecot' } } });
    const result = render({ ...input({ domains: [exampleCom()], mailboxes: [alice(), l] }), defaultDelivery: null });
    const issue = only(result, 'NoDeliveryTarget');
    assert.deepEqual([issue.name, issue.field, issue.severity], ['alice', 'spec.delivery', 'Error']);
    assert.match(issue.message, /defaultDelivery/);
    assert.deepEqual(
      result.bundle.mailboxes.map((m) => m.address),
      ['l@example.com'],
    );
    // Its aliases go with it (the MTA refuses a bundle whose alias leads nowhere).
    assert.deepEqual(result.bundle.aliases, []);
    assert.equal(only(result, 'AliasTargetNotFound').field, 'spec.inbound.aliases[0].to');
    assertLoadable(result);
  });

  test('a catch-all and a chain of aliases that lead to a left-out mailbox are left out and reported', () => {
    const d = domain('example-com', {
      domain: 'example.com',
      inbound: {
        catchAll: 'team@example.com',
        aliases: [
          { name: 'postmaster', to: ['l@example.com'] },
          { name: 'team', to: ['sales@example.com'] },
          { name: 'sales', to: ['alice@example.com', 'l@example.com'] },
        ],
      },
    });
    const l = mailbox('l', { address: 'l@example.com', delivery: { lmtp: { host: 'dovecot' } } });
    const result = render({ ...input({ domains: [d], mailboxes: [alice(), l] }), defaultDelivery: null });
    assert.deepEqual(
      result.bundle.aliases.map((a) => a.address),
      ['postmaster@example.com'],
    );
    assert.equal(result.bundle.domains[0]?.inbound.catchAll, null);
    assert.deepEqual(
      reasons(result)
        .filter((r) => r.startsWith('MailDomain'))
        .sort(),
      [
        'MailDomain example-com spec.inbound.aliases[1].to AliasTargetNotFound',
        'MailDomain example-com spec.inbound.aliases[2].to AliasTargetNotFound',
        'MailDomain example-com spec.inbound.catchAll CatchAllTargetNotFound',
      ],
    );
    assertLoadable(result);
  });

  test('a webhook without its HMAC Secret is left out, so its mail is refused rather than lost', () => {
    const w = mailbox('w', { address: 'w@example.com', delivery: { webhook: { url: 'https://hooks.example/in', secretRef: { name: 'absent' } } } });
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice(), w] }));
    assert.equal(only(result, 'WebhookSecretNotFound').name, 'w');
    assert.deepEqual(
      result.bundle.mailboxes.map((m) => m.address),
      ['alice@example.com'],
    );
  });

  test('forwarding to an address of our own domain that nobody claims is reported', () => {
    const f = mailbox('f', { address: 'f@example.com', delivery: { forward: { to: ['ghost@example.com'] } } });
    assert.equal(only(render(input({ domains: [exampleCom()], mailboxes: [alice(), f] })), 'ForwardTargetNotFound').name, 'f');
  });

  test("sendAs may name only addresses and domains of the mailbox's own namespace", () => {
    const other = domain('other', { domain: 'other.example' }, 'tenant-b');
    const m = mailbox('alice', { address: 'alice@example.com', sendAs: ['@example.com', 'Sales@Example.com', '@other.example'] });
    const result = render(input({ domains: [exampleCom(), other], mailboxes: [m] }));
    assert.deepEqual(result.bundle.mailboxes[0]?.sendAs, ['@example.com', 'sales@example.com']);
    assert.equal(only(result, 'SenderDomainNotOwned').field, 'spec.sendAs[2]');
  });
});
