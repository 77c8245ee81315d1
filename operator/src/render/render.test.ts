// render() as a specification: each rule of the bundle, each way a resource can be
// wrong, and what stays served when one is.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkBundle } from '../../../bundle/check.ts';
import { render, type RenderResult } from './render.ts';
import type { IssueReason } from '../../../crds/src/index.ts';
import { domain, input, key, mailbox, relay, secret } from './test-resources.ts';

const exampleCom = () => domain('example-com', { domain: 'example.com', inbound: { aliases: [{ name: 'postmaster', to: ['alice@example.com'] }] } });
const alice = () => mailbox('alice', { address: 'alice@example.com' });

function reasons(result: RenderResult): string[] {
  return result.issues.filter((i) => i.severity === 'Error').map((i) => `${i.kind} ${i.name} ${i.field} ${i.reason}`);
}

function only(result: RenderResult, reason: IssueReason) {
  const found = result.issues.filter((i) => i.reason === reason);
  assert.equal(found.length, 1, `expected one ${reason}, got ${JSON.stringify(result.issues, null, 1)}`);
  return found[0] as (typeof found)[number];
}

function assertLoadable(result: RenderResult) {
  const checked = checkBundle(JSON.parse(JSON.stringify(result.bundle)), JSON.parse(JSON.stringify(result.secrets)));
  assert.deepEqual(checked.ok ? [] : checked.errors, []);
}

describe('domains', () => {
  test('a MailDomain gets its defaults: hostname mx.<domain>, 25 MiB, 100 recipients, DMARC report', () => {
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice()], dkimKeys: [key('example.com', 'stafette')] }));
    const d = result.bundle.domains[0];
    assert.equal(d?.hostname, 'mx.example.com');
    assert.deepEqual(d?.inbound, { catchAll: null, maxMessageSize: 25 * 1024 * 1024, maxRecipients: 100, dmarc: 'report' });
    assert.deepEqual(d?.dkim.signing, ['stafette']);
    assert.deepEqual(reasons(result), []);
    assertLoadable(result);
  });

  test('two MailDomains for one domain: the older keeps it, the newer is reported', () => {
    const first = exampleCom();
    const second = domain('example-com-again', { domain: 'example.com' }, 'other');
    const result = render(input({ domains: [second, first], mailboxes: [alice()] }));
    assert.equal(result.bundle.domains.length, 1);
    assert.equal(result.bundle.domains[0]?.source.name, 'example-com');
    const issue = only(result, 'DomainConflict');
    assert.equal(issue.name, 'example-com-again');
    assert.match(issue.message, /already served by MailDomain mail\/example-com/);
  });

  test('algorithm both asks for an RSA and an Ed25519 selector, and a missing key is reported, not fatal', () => {
    const d = domain('example-com', { domain: 'example.com', dkim: { selector: 'k1', algorithm: 'both' } });
    const result = render(input({ domains: [d], dkimKeys: [key('example.com', 'k1-rsa')] }));
    assert.deepEqual(
      result.missingDkimKeys.map((m) => [m.selector, m.algorithm]),
      [['k1-ed25519', 'ed25519-sha256']],
    );
    assert.deepEqual(result.bundle.domains[0]?.dkim.signing, ['k1-rsa']);
    assert.equal(only(result, 'DKIMKeyMissing').severity, 'Warning');
  });

  test('operator-managed keys: all are published in DNS, only Signing keys of a wanted algorithm sign', () => {
    const d = domain('example-com', { domain: 'example.com', dkim: { selector: 's', algorithm: 'rsa-2048' } });
    const keys = [
      { ...key('example.com', 's'), state: 'Retiring' as const },
      { ...key('example.com', 's-r2'), state: 'Signing' as const },
      { ...key('example.com', 's-r3'), state: 'Published' as const },
      { ...key('example.com', 'old-ed', 'ed25519-sha256'), state: 'Signing' as const },
    ];
    const result = render(input({ domains: [d], mailboxes: [], dkimKeys: keys }));
    assert.deepEqual(result.bundle.domains[0]?.dkim.signing, ['s-r2']);
    assert.deepEqual(
      result.bundle.domains[0]?.dkim.selectors.map((k) => k.selector),
      ['old-ed', 's', 's-r2', 's-r3'],
    );
    assert.deepEqual(
      result.secrets.dkimKeys.map((k) => k.selector),
      ['s-r2'],
    );
    assert.deepEqual(
      result.domains[0]?.dnsRecords.filter((r) => r.purpose === 'DKIM').map((r) => r.name),
      ['old-ed._domainkey.example.com', 's._domainkey.example.com', 's-r2._domainkey.example.com', 's-r3._domainkey.example.com'],
    );
    assert.deepEqual(result.missingDkimKeys, []);
  });

  test('operator-managed keys: an algorithm with only a retiring key is missing', () => {
    const d = domain('example-com', { domain: 'example.com', dkim: { selector: 's', algorithm: 'both' } });
    const result = render(
      input({
        domains: [d],
        dkimKeys: [
          { ...key('example.com', 's-rsa'), state: 'Signing' },
          { ...key('example.com', 'x', 'ed25519-sha256'), state: 'Retiring' },
        ],
      }),
    );
    assert.deepEqual(
      result.missingDkimKeys.map((m) => m.algorithm),
      ['ed25519-sha256'],
    );
  });

  test('a domain without postmaster, alias or catch-all gets a warning', () => {
    const result = render(input({ domains: [domain('bare', { domain: 'bare.example' })] }));
    assert.equal(only(result, 'PostmasterMissing').severity, 'Warning');
  });

  test('a TLS Secret named by the domain is carried in the secret part', () => {
    const d = domain('example-com', { domain: 'example.com', tls: { secretName: 'mx-tls' } });
    const result = render(input({ domains: [d], secrets: [secret('mx-tls', { 'tls.crt': 'CERT', 'tls.key': 'KEY' }, 'tls')] }));
    assert.deepEqual(result.bundle.domains[0]?.tls, { secretName: 'mail/mx-tls' });
    assert.deepEqual(result.secrets.tlsCertificates, { 'mail/mx-tls': { certPem: 'CERT', keyPem: 'KEY' } });
  });

  describe('MTA-STS is published only for a policy that is served', () => {
    const certs = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
    const mtaSts = (r: ReturnType<typeof render>) => r.domains[0]!.dnsRecords.filter((x) => x.purpose === 'MTA-STS').map((x) => x.name);
    const warned = (r: ReturnType<typeof render>) => r.issues.filter((x) => x.reason === 'MtaStsNotServed').map((x) => x.message);

    test('with a cert-manager issuer (the Certificate names mta-sts.<domain>), or behind an Ingress', () => {
      const d = domain('example-com', { domain: 'example.com', tls: { issuerRef: { name: 'letsencrypt' } } });
      const result = render(input({ domains: [d] }));
      assert.deepEqual(mtaSts(result), ['_mta-sts.example.com', 'mta-sts.example.com']);
      assert.match(result.domains[0]!.mtaStsPolicy!, /^version: STSv1\nmode: testing\nmx: mx\.example\.com\n/);
      assert.deepEqual(mtaSts(render(input({ domains: [domain('example-com', { domain: 'example.com' })], mtaStsServedBy: 'ingress' }))), [
        '_mta-sts.example.com',
        'mta-sts.example.com',
      ]);
    });

    test('with a Secret whose certificate names mta-sts.<domain>, but not one that does not', () => {
      const withName = domain('example-com', { domain: 'example.com', tls: { secretName: 'mx-tls' } });
      const ok = render(input({ domains: [withName], secrets: [secret('mx-tls', { 'tls.crt': certs('cert-mx-and-mta-sts.pem'), 'tls.key': 'KEY' }, 'tls')] }));
      assert.deepEqual(mtaSts(ok), ['_mta-sts.example.com', 'mta-sts.example.com']);
      const without = render(input({ domains: [withName], secrets: [secret('mx-tls', { 'tls.crt': certs('cert-mx-only.pem'), 'tls.key': 'KEY' }, 'tls')] }));
      assert.deepEqual(mtaSts(without), []);
      assert.equal(without.domains[0]!.mtaStsPolicy, null);
      assert.deepEqual(warned(without), ['the MTA-STS policy is not published: the certificate in Secret mx-tls does not name mta-sts.example.com']);
    });

    test('without a certificate, or when the installation serves none, nothing is published and the domain says why', () => {
      assert.match(warned(render(input({ domains: [domain('example-com', { domain: 'example.com' })] })))[0]!, /no certificate for mta-sts\.example\.com/);
      const none = render(input({ domains: [domain('example-com', { domain: 'example.com', tls: { issuerRef: { name: 'x' } } })], mtaStsServedBy: 'none' }));
      assert.deepEqual(mtaSts(none), []);
      assert.deepEqual(warned(render(input({ domains: [domain('example-com', { domain: 'example.com', dns: { mtaSts: { mode: 'none' } } })] }))), []);
    });
  });

  test('with a cert-manager issuer the certificate Secret defaults to <name>-tls', () => {
    const d = domain('example-com', { domain: 'example.com', tls: { issuerRef: { name: 'letsencrypt' } } });
    assert.deepEqual(render(input({ domains: [d] })).bundle.domains[0]?.tls, { secretName: 'mail/example-com-tls' });
  });
});

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

describe('relays', () => {
  const creds = secret('relay-auth', { username: 'u', password: 'p' }, 'relay-auth');

  test('a relay with credentials, matches and limits', () => {
    const r = relay('smart', { host: 'smtp.relay.example', authSecretRef: { name: 'relay-auth' }, match: { recipientDomains: ['partner.example'] } });
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice()], relays: [r], secrets: [creds] }));
    assert.deepEqual(result.bundle.relays, [
      {
        id: 'mail/smart',
        source: { namespace: 'mail', name: 'smart' },
        host: 'smtp.relay.example',
        port: 587,
        tls: 'starttls',
        auth: true,
        match: { default: false, senderDomains: [], recipientDomains: ['partner.example'] },
        limits: { connections: 10, messagesPerSecond: null },
      },
    ]);
    assert.deepEqual(result.secrets.relayCredentials, { 'mail/smart': { username: 'u', password: 'p' } });
    assertLoadable(result);
  });

  test('relay matches that overlap another relay are reported on the newer relay', () => {
    const a = relay('a', { host: 'a.example', default: true, match: undefined });
    const b = relay('b', { host: 'b.example', match: { recipientDomains: ['partner.example'], senderDomains: ['example.com'] } });
    const c = relay('c', { host: 'c.example', default: true });
    const d = relay('d', { host: 'd.example', match: { recipientDomains: ['partner.example'], senderDomains: ['example.com'] } });
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice()], relays: [a, b, c, d] }));
    assert.deepEqual(reasons(result), [
      'Relay c spec.default RelayConflict',
      'Relay d spec.match.senderDomains[0] RelayConflict',
      'Relay d spec.match.recipientDomains[0] RelayConflict',
    ]);
    assert.deepEqual(
      result.bundle.relays.map((r) => [r.id, r.match.default, r.match.recipientDomains]),
      [
        ['mail/a', true, []],
        ['mail/b', false, ['partner.example']],
        ['mail/c', false, []],
        ['mail/d', false, []],
      ],
    );
  });

  test("relays in different namespaces do not overlap: each routes its own namespace's mail", () => {
    const a = relay('a', { host: 'a.example', default: true }, 'one');
    const b = relay('b', { host: 'b.example', default: true }, 'two');
    assert.deepEqual(reasons(render(input({ relays: [a, b] }))), []);
  });

  test("a relay cannot capture the outgoing mail of another namespace's domain", () => {
    const r = relay('r', { host: 'r.example', match: { senderDomains: ['example.com'] } }, 'tenant-b');
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice()], relays: [r] }));
    assert.equal(only(result, 'SenderDomainNotOwned').name, 'r');
  });

  test("a MailDomain's relayRef must name an existing Relay and wins over a Relay's senderDomains", () => {
    const pinned = domain('example-com', { domain: 'example.com', outbound: { relayRef: { name: 'smart' } } });
    const smart = relay('smart', { host: 'smart.example', match: { recipientDomains: ['x.example'] } });
    const other = relay('other', { host: 'other.example', match: { senderDomains: ['example.com'] } });
    const result = render(input({ domains: [pinned], relays: [smart, other] }));
    assert.equal(result.bundle.domains[0]?.outbound.relay, 'mail/smart');
    assert.equal(only(result, 'RelayConflict').name, 'other');

    const dangling = render(input({ domains: [domain('d', { domain: 'example.com', outbound: { relayRef: { name: 'absent' } } })] }));
    assert.equal(only(dangling, 'RelayNotFound').field, 'spec.outbound.relayRef');
    assert.equal(dangling.bundle.domains[0]?.outbound.relay, null);
  });

  test('missing relay credentials are reported and the relay is kept, so its mail waits instead of leaving another way', () => {
    const r = relay('smart', { host: 'smtp.relay.example', default: true, authSecretRef: { name: 'absent' } });
    const result = render(input({ relays: [r] }));
    assert.equal(only(result, 'RelayCredentialsNotFound').field, 'spec.authSecretRef');
    assert.equal(result.bundle.relays[0]?.auth, true);
    assert.deepEqual(result.secrets.relayCredentials, {});
  });
});

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
