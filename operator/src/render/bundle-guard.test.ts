// The bundle render() returns always passes the MTA's own check: a resource whose part would
// be refused (or overflow a bundle object) is left out and reported on its field, and only it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkBundle } from '../../../bundle/check.ts';
import { render } from './render.ts';
import { domain, input, key, mailbox, secret } from './test-resources.ts';

const postmaster = (name: string) => ({ inbound: { aliases: [{ name: 'postmaster', to: [`alice@${name}`] }] } });
const good = () => domain('good', { domain: 'good.example', ...postmaster('good.example') });
const goodAlice = () => mailbox('alice', { address: 'alice@good.example' });
const keys = [key('good.example', 'stafette'), key('bad.example', 'stafette')];

test('a MailDomain whose maxMessageSize the MTA refuses is left out and flagged; every other domain is served', () => {
  const bad = domain('bad', { domain: 'bad.example', inbound: { maxMessageSize: '0', aliases: [{ name: 'postmaster', to: ['alice@bad.example'] }] } });
  const result = render(input({ domains: [good(), bad], mailboxes: [goodAlice(), mailbox('bad-alice', { address: 'alice@bad.example' })], dkimKeys: keys }));
  assert.ok(checkBundle(result.bundle, result.secrets).ok, 'the bundle passes the MTA check');
  assert.deepEqual(result.bundleErrors, []);
  assert.deepEqual(
    result.bundle.domains.map((d) => d.domain),
    ['good.example'],
  );
  const flagged = result.issues.find((i) => i.kind === 'MailDomain' && i.name === 'bad' && i.severity === 'Error');
  assert.equal(flagged?.reason, 'BundleCheckFailed');
  assert.equal(flagged?.field, 'spec.inbound.maxMessageSize');
  assert.match(flagged?.message ?? '', /maxMessageSize/);
  // Its mailbox cannot be served without it, and says why.
  const orphan = result.issues.find((i) => i.name === 'bad-alice');
  assert.equal(orphan?.reason, 'DomainNotFound');
  assert.match(orphan?.message ?? '', /left out of the MTA configuration/);
  assert.deepEqual(
    result.issues.filter((i) => (i.name === 'good' || i.name === 'alice') && i.severity === 'Error'),
    [],
  );
});

test('a webhook URL without a host is refused on spec.delivery.webhook.url; the other mailboxes stay', () => {
  // The delivery-target rule (https to a public host, docs/trust-model.md §3) refuses it
  // before the bundle check would; either way only the offender is left out.
  const hook = mailbox('hook', { address: 'hook@good.example', delivery: { webhook: { url: 'http://', secretRef: { name: 'hook', key: 'key' } } } });
  const result = render(input({ domains: [good()], mailboxes: [goodAlice(), hook], secrets: [secret('hook', { key: 'k' }, 'webhook')], dkimKeys: keys }));
  assert.ok(checkBundle(result.bundle, result.secrets).ok);
  assert.deepEqual(
    result.bundle.mailboxes.map((m) => m.address),
    ['alice@good.example'],
  );
  assert.deepEqual(result.secrets.webhookKeys, {});
  const flagged = result.issues.find((i) => i.name === 'hook');
  assert.equal(flagged?.reason, 'DeliveryTargetNotAllowed');
  assert.equal(flagged?.field, 'spec.delivery.webhook.url');
});

test('a part too large for its bundle Secret shard leaves out the resource with the largest part', () => {
  // Random, so gzip cannot shrink it below the limit.
  const big = randomBytes(4096).toString('base64');
  const tls = secret('big-tls', { 'tls.crt': big, 'tls.key': big }, 'tls');
  const withTls = domain('big', { domain: 'bad.example', tls: { secretName: 'big-tls' }, ...postmaster('bad.example') });
  const result = render(
    input({
      domains: [good(), withTls],
      mailboxes: [goodAlice(), mailbox('bad-alice', { address: 'alice@bad.example' })],
      secrets: [tls],
      dkimKeys: keys,
      objectLimits: { shards: 1, maxBytes: 1024 },
    }),
  );
  const flagged = result.issues.find((i) => i.kind === 'MailDomain' && i.name === 'big' && i.severity === 'Error');
  assert.equal(flagged?.reason, 'BundleCheckFailed');
  assert.match(flagged?.message ?? '', /shard 0 of 1 would hold \d+ bytes, more than the 1024/);
  assert.deepEqual(
    result.bundle.domains.map((d) => d.domain),
    ['good.example'],
  );
  assert.deepEqual(result.secrets.tlsCertificates, {});
});

test('a valid input renders in one pass, with nothing flagged', () => {
  const result = render(input({ domains: [good()], mailboxes: [goodAlice()], dkimKeys: keys, objectLimits: { shards: 4, maxBytes: 1024 * 1024 } }));
  assert.deepEqual(
    result.issues.filter((i) => i.severity === 'Error'),
    [],
  );
  assert.deepEqual(result.bundleErrors, []);
});
