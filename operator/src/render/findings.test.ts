// What a render found, asked per resource: the reconcilers' view of one render.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RenderFindings } from './findings.ts';
import { render } from './render.ts';
import { domain, input, key, mailbox } from './test-resources.ts';

const exampleCom = () => domain('example-com', { domain: 'example.com', inbound: { aliases: [{ name: 'postmaster', to: ['alice@example.com'] }] } });
const alice = () => mailbox('alice', { address: 'alice@example.com' });
const ref = { kind: 'MailDomain', namespace: 'mail', name: 'example-com' } as const;

test('each resource gets its own issues; one without any gets none', () => {
  const stray = mailbox('stray', { address: 'x@nowhere.example' });
  const findings = new RenderFindings(render(input({ domains: [exampleCom()], mailboxes: [alice(), stray], dkimKeys: [key('example.com', 'stafette')] })));
  assert.deepEqual(
    findings.issuesOf({ kind: 'Mailbox', namespace: 'mail', name: 'stray' }).map((i) => i.reason),
    ['DomainNotFound'],
  );
  assert.deepEqual(findings.issuesOf({ kind: 'Mailbox', namespace: 'mail', name: 'alice' }), []);
});

test('a domain without its key is reported with the selector it is missing, and signs with nothing', () => {
  const findings = new RenderFindings(render(input({ domains: [exampleCom()], mailboxes: [alice()] })));
  assert.equal(findings.reportOf('mail', 'example-com')?.domain, 'example.com');
  assert.deepEqual(findings.missingSelectorsOf('mail', 'example-com'), ['stafette']);
  assert.deepEqual(findings.signingSelectorsOf('example.com'), []);
  assert.equal(findings.reportOf('mail', 'other'), undefined);
});

test('a domain fingerprint changes with what render says of the domain, not with its mailboxes', () => {
  const fingerprint = (parts: Parameters<typeof input>[0]) => new RenderFindings(render(input(parts))).domainFingerprints([ref]).get('mail/example-com');
  const keyed = { domains: [exampleCom()], mailboxes: [alice()], dkimKeys: [key('example.com', 'stafette')] };
  assert.equal(fingerprint(keyed), fingerprint({ ...keyed, mailboxes: [alice(), mailbox('bob', { address: 'bob@example.com' })] }));
  assert.notEqual(fingerprint(keyed), fingerprint({ ...keyed, dkimKeys: [] }));
});

test("a first pass's findings sign with what the written bundle signs, and its fingerprint says so", () => {
  const keyed = render(input({ domains: [exampleCom()], mailboxes: [alice()], dkimKeys: [key('example.com', 'stafette')] }));
  const written = new RenderFindings(render(input({ domains: [exampleCom()], mailboxes: [alice()] })));
  const complete = new RenderFindings(keyed);
  assert.deepEqual(complete.signingSelectorsOf('example.com'), ['stafette']);
  // Nothing written yet, or a bundle without the key: the new key signs nowhere yet.
  assert.deepEqual(new RenderFindings(keyed, null).signingSelectorsOf('example.com'), []);
  const firstPass = new RenderFindings(keyed, written);
  assert.deepEqual(firstPass.signingSelectorsOf('example.com'), []);
  // So the complete render tells the domain again.
  assert.notEqual(firstPass.domainFingerprints([ref]).get('mail/example-com'), complete.domainFingerprints([ref]).get('mail/example-com'));
  assert.equal(
    new RenderFindings(keyed, complete).domainFingerprints([ref]).get('mail/example-com'),
    complete.domainFingerprints([ref]).get('mail/example-com'),
  );
});
