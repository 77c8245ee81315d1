import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrProblem,
  defaultDeliveryTargetPolicy,
  lmtpHostProblem,
  maildirPathProblem,
  webhookAddressProblem,
  webhookUrlProblem,
  type DeliveryTargetPolicy,
} from './delivery-targets.ts';

const policy: DeliveryTargetPolicy = {
  lmtpHosts: ['dovecot.mail.svc.cluster.local', '*.lmtp.example'],
  maildirRoot: '/var/mail',
  webhookAllowNetworks: ['10.1.2.0/24'],
};

test('webhooks: https only, and no loopback, link-local, private, cluster or metadata address unless allowed', () => {
  assert.equal(webhookUrlProblem('https://hooks.example/in', policy), null);
  assert.match(webhookUrlProblem('http://hooks.example/in', policy) ?? '', /http: webhooks are not allowed/);
  assert.match(webhookUrlProblem('http://', policy) ?? '', /not a URL|not allowed/);
  assert.match(webhookUrlProblem('https://u:p@hooks.example/', policy) ?? '', /credentials/);
  assert.match(webhookUrlProblem('https://localhost:8443/', policy) ?? '', /loopback/);
  for (const [url, kind] of [
    ['https://127.0.0.1/', 'loopback'],
    ['https://169.254.169.254/latest/meta-data', 'link-local'],
    ['https://[fe80::1]/', 'link-local'],
    ['https://[::1]/', 'loopback'],
    ['https://10.96.0.1/', 'private'],
    ['https://192.168.1.1/', 'private'],
    ['https://[fd00::1]/', 'unique-local'],
    ['https://[::ffff:127.0.0.1]/', 'loopback'],
    ['https://0.0.0.0/', 'unspecified'],
  ] as const) {
    assert.match(webhookUrlProblem(url, policy) ?? '', new RegExp(kind), url);
  }
  assert.equal(webhookUrlProblem('https://10.1.2.3/', policy), null, 'inside an allowed network');
  assert.equal(webhookAddressProblem('93.184.215.14', defaultDeliveryTargetPolicy), null);
  assert.equal(webhookAddressProblem('2606:2800:21f:cb07:6820:80da:af6b:8b2c', defaultDeliveryTargetPolicy), null);
});

test('LMTP: only hosts the admin lists, exactly or under a *.suffix', () => {
  assert.equal(lmtpHostProblem('dovecot.mail.svc.cluster.local', policy), null);
  assert.equal(lmtpHostProblem('a.lmtp.example', policy), null);
  assert.match(lmtpHostProblem('lmtp.example', policy) ?? '', /not in the platform's allowed LMTP hosts/);
  assert.match(lmtpHostProblem('postgres.db.svc.cluster.local', policy) ?? '', /not in/);
  assert.match(lmtpHostProblem('dovecot', defaultDeliveryTargetPolicy) ?? '', /none/);
});

test('maildir: only inside the root, never by .. and never without a root', () => {
  assert.equal(maildirPathProblem('/var/mail/alice', policy), null);
  assert.match(maildirPathProblem('/var/mail/../../etc', policy) ?? '', /not inside \/var\/mail/);
  assert.match(maildirPathProblem('/var/mailx/a', policy) ?? '', /not inside/);
  assert.match(maildirPathProblem('/var/mail', policy) ?? '', /not inside/);
  assert.match(maildirPathProblem('mail/a', policy) ?? '', /not absolute/);
  assert.match(maildirPathProblem('/var/mail/a', defaultDeliveryTargetPolicy) ?? '', /no maildir root/);
});

test('CIDRs are checked', () => {
  assert.equal(cidrProblem('10.0.0.0/8'), null);
  assert.equal(cidrProblem('fd00::/8'), null);
  assert.notEqual(cidrProblem('10.0.0.0/33'), null);
  assert.notEqual(cidrProblem('nonsense'), null);
});
