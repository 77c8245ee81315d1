// What the MTA accepts as a bundle, and the precise reasons it refuses one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBundle } from './check.ts';
import { hashPassword } from './password-hash.ts';
import type { Bundle, BundleSecrets } from './schema.ts';
import { validTestBundle } from './test-bundle.ts';

const aliceHash = hashPassword('alice');

const valid = () => validTestBundle(aliceHash);

function errorsOf(mutate: (b: Bundle, s: BundleSecrets) => void): string[] {
  const { bundle, secrets } = valid();
  mutate(bundle, secrets);
  const result = checkBundle(bundle, secrets);
  return result.ok ? [] : result.errors;
}

test('a consistent bundle is accepted', () => {
  assert.deepEqual(
    errorsOf(() => {}),
    [],
  );
});

test('an unknown version is refused before anything else is read', () => {
  assert.deepEqual(
    errorsOf((b) => {
      (b as { apiVersion: string }).apiVersion = 'stafette.dev/bundle/v9';
    }),
    ['bundle.json: apiVersion "stafette.dev/bundle/v9" is not stafette.dev/bundle/v1'],
  );
});

test('schema errors name the part, the path and what was expected', () => {
  const errors = errorsOf((b) => {
    (b.domains[0]!.inbound as { maxMessageSize: unknown }).maxMessageSize = '25Mi';
    (b.mailboxes[0]! as { delivery: unknown }).delivery = { type: 'carrier-pigeon' };
  });
  assert.equal(errors.length, 2);
  assert.match(errors[0] ?? '', /^bundle\.json: domains\[0\]\.inbound\.maxMessageSize: .*number/);
  assert.match(errors[1] ?? '', /^bundle\.json: mailboxes\[0\]\.delivery\.type: /);
});

test('unknown fields are refused, so a typo in a hand-made bundle is not silently ignored', () => {
  assert.match(
    errorsOf((b) => {
      (b as Record<string, unknown>).domain = [];
    }).join(),
    /Unrecognized key: "domain"/,
  );
});

test('parts of different revisions are a half-updated mount and refused', () => {
  assert.deepEqual(
    errorsOf((_, s) => {
      s.revision = 'r2';
    }),
    ['revision r1 of bundle.json differs from r2 of secrets.json (a half-updated mount)'],
  );
});

test('broken references are refused: missing keys, hashes, targets, relays and duplicates', () => {
  assert.deepEqual(
    errorsOf((b, s) => {
      s.dkimKeys = [];
      s.passwords = {};
      b.aliases[0]!.to = ['ghost@example.com'];
      b.domains[0]!.inbound.catchAll = 'nobody@example.com';
      b.domains[0]!.outbound.relay = 'mail/absent';
      b.mailboxes.push({ ...b.mailboxes[0]!, login: false });
      b.mailboxes.push({ ...b.mailboxes[0]!, address: 'carol@other.example', login: false });
    }),
    [
      'domains[example.com].dkim: signing selector s1 has no private key in secrets.json',
      'mailboxes[alice@example.com]: login is enabled but secrets.json has no password hash',
      'mailboxes[alice@example.com]: address alice@example.com is claimed twice',
      'mailboxes[carol@other.example]: domain is not in domains',
      'aliases[postmaster@example.com]: target ghost@example.com does not exist',
      'domains[example.com].inbound.catchAll: nobody@example.com does not exist',
      'domains[example.com].outbound.relay: relay mail/absent does not exist',
    ],
  );
});

test('a password hash of another scrypt cost is refused, so no login can cost more than the platform allows', () => {
  const expensive = `$scrypt$ln=20,r=16,p=1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`;
  assert.deepEqual(
    errorsOf((_, s) => {
      s.passwords['alice@example.com'] = expensive;
    }),
    ["secrets.json: passwords[alice@example.com]: scrypt cost ln=20,r=16,p=1 is not the platform's ln=15,r=8,p=1"],
  );
});

test('an alias or catch-all may name local+tag@: it reaches local@, as the directory routes it', () => {
  assert.deepEqual(
    errorsOf((b) => {
      b.aliases[0]!.to = ['alice+lists@example.com'];
      b.domains[0]!.inbound.catchAll = 'alice+catchall@example.com';
    }),
    [],
  );
  assert.match(
    errorsOf((b) => {
      b.aliases[0]!.to = ['nobody+lists@example.com'];
    }).join('\n'),
    /target nobody\+lists@example.com does not exist/,
  );
});
