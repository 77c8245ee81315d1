// TLS to NATS (docs/trust-model.md "NATS roles and TLS") against a real nats-server whose
// client port requires TLS and verifies client certificates, with the role authorization
// nats-roles.ts renders: the MTA connects with --nats-ca, --nats-cert and --nats-key, mail
// flows from intake to delivery, and a client without the CA or without a certificate is
// refused. Certificates come from the throwaway CA of test/harness/test-ca.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { createTestCa, type TestCa } from '../harness/test-ca.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { waitFor } from '../harness/process.ts';
import { startRoleMta, startRoleNats, type RoleMta, type RoleNats } from './nats-roles-fixture.ts';

const domain = 'example.test';
let ca: TestCa;
let nats: RoleNats;
let mta: RoleMta;
let client: { certFile: string; keyFile: string };

before(async () => {
  ca = await createTestCa('stafette-nats-test-ca');
  const server = await ca.issue(['127.0.0.1', 'localhost']);
  const dir = join(ca.caFile, '..');
  writeFileSync(join(dir, 'nats-server.crt'), server.certPem);
  writeFileSync(join(dir, 'nats-server.key'), server.keyPem);
  client = await ca.issueClient('stafette-mta');
  const tlsFiles = { caFile: ca.caFile, certFile: client.certFile, keyFile: client.keyFile };
  nats = await startRoleNats({
    name: 'nats-tls',
    tls: { certFile: join(dir, 'nats-server.crt'), keyFile: join(dir, 'nats-server.key'), caFile: ca.caFile, verify: true },
    clientTls: tlsFiles,
  });
  mta = await startRoleMta(nats, {
    name: 'trust-tls',
    addresses: [`bob@${domain}`],
    domain,
    extraArgs: ['--nats-ca', ca.caFile, '--nats-cert', client.certFile, '--nats-key', client.keyFile],
  });
});

after(async () => {
  await mta?.close();
  await nats?.server.destroy();
});

test('the MTA connects over TLS with a client certificate, and mail flows', async () => {
  const message = Buffer.from(`From: a@elsewhere.example\r\nTo: bob@${domain}\r\nSubject: over tls\r\n\r\nhello\r\n`);
  assert.match(await sendMessage({ host: mta.mx.host, port: mta.mx.port, from: 'a@elsewhere.example', to: [`bob@${domain}`], message }), /^250 /);
  const inbox = join(mta.maildirRoot, `bob@${domain}`, 'new');
  await waitFor('the message in the maildir', () => readdirSync(inbox).length === 1, { timeoutMs: 30_000 });
  assert.deepEqual(nats.violations(), []);
});

test('a client that does not trust the CA, or has no client certificate, is refused', async () => {
  const base = { servers: nats.server.url, user: 'stafette-intake', pass: nats.passwords.intake, maxReconnectAttempts: 0, timeout: 5_000 };
  // The system's CAs do not include the test CA.
  await assert.rejects(connect({ ...base, tls: { certFile: client.certFile, keyFile: client.keyFile } }));
  // verify: true needs a client certificate.
  await assert.rejects(connect({ ...base, tls: { caFile: ca.caFile } }));
  // Plain text is refused too.
  await assert.rejects(connect(base));
  const nc = await connect({ ...base, tls: { caFile: ca.caFile, certFile: client.certFile, keyFile: client.keyFile } });
  await nc.close();
});
