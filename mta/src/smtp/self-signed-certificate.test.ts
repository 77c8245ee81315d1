import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { generateSelfSignedCertificate } from './self-signed-certificate.ts';

test('the certificate names the hostnames: the first as CN, all as DNS subjectAltNames', async () => {
  const { certPem } = await generateSelfSignedCertificate(['mx.example.com', 'mail.example.org']);
  const cert = new X509Certificate(certPem);
  assert.equal(cert.subject, 'CN=mx.example.com');
  assert.equal(cert.issuer, cert.subject);
  assert.equal(cert.subjectAltName, 'DNS:mx.example.com, DNS:mail.example.org');
  assert.equal(cert.ca, false);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

test('it is signed by its own key, which is the key returned', async () => {
  const { certPem, keyPem } = await generateSelfSignedCertificate(['mx.example.com']);
  const cert = new X509Certificate(certPem);
  assert.equal(cert.verify(cert.publicKey), true);
  assert.equal(cert.checkPrivateKey(createPrivateKey(keyPem)), true);
});

test('it is valid from an hour before now for the given number of days', async () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const cert = new X509Certificate((await generateSelfSignedCertificate(['mx.example.com'], 30, now)).certPem);
  assert.equal(new Date(cert.validFrom).toISOString(), '2026-03-01T11:00:00.000Z');
  assert.equal(new Date(cert.validTo).toISOString(), '2026-03-31T12:00:00.000Z');
});

test('dates from 2050 on are GeneralizedTime and still parse', async () => {
  const cert = new X509Certificate((await generateSelfSignedCertificate(['mx.example.com'], 365, new Date('2049-12-01T00:00:00Z'))).certPem);
  assert.equal(new Date(cert.validTo).toISOString(), '2050-12-01T00:00:00.000Z');
});

test('every certificate has its own random serial number and key', async () => {
  const [a, b] = await Promise.all([generateSelfSignedCertificate(['mx.example.com']), generateSelfSignedCertificate(['mx.example.com'])]);
  assert.notEqual(new X509Certificate(a.certPem).serialNumber, new X509Certificate(b.certPem).serialNumber);
  assert.notEqual(a.keyPem, b.keyPem);
});

test('a hostname longer than a CN may be is only in the subjectAltName', async () => {
  const long = `${'a'.repeat(60)}.example.com`;
  const cert = new X509Certificate((await generateSelfSignedCertificate([long])).certPem);
  assert.equal(cert.subject ?? '', '', 'no subject name');
  assert.equal(cert.subjectAltName, `DNS:${long}`);
});

test('no hostname, or one that is not a DNS name, is refused', async () => {
  await assert.rejects(generateSelfSignedCertificate([]), /at least one hostname/);
  await assert.rejects(generateSelfSignedCertificate(['mx example.com']), /not a DNS name/);
});

test('a TLS client completes a handshake with it and sees it', async (t) => {
  const { certPem, keyPem } = await generateSelfSignedCertificate(['mx.example.com']);
  const server = createServer((socket) => {
    const secure = new TLSSocket(socket, { isServer: true, cert: certPem, key: keyPem });
    secure.on('error', () => {});
    secure.end('hello');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const client = tlsConnect({ socket: connect(port, '127.0.0.1'), servername: 'mx.example.com', rejectUnauthorized: false });
  await once(client, 'secureConnect');
  assert.equal(client.getPeerX509Certificate()?.subject, 'CN=mx.example.com');
  const [data] = (await once(client, 'data')) as [Buffer];
  assert.equal(String(data), 'hello');
  client.destroy();
});
