// The alias lattice (issue 14): nine layers of ten aliases, each pointing at every alias of the
// next layer, is 10^9 expansion paths to ten mailboxes; the same lattice over 1,001 mailboxes
// is over the target cap; a loop and a chain of 11 steps are over the other bounds
// (docs/reliability.md "Limits"). Against the real intake and a real nats-server, as SMTP
// transcripts: the bounded ones are refused at RCPT with 550 5.4.6, the lattice is accepted,
// and routing the stored record (what delivery does with it) names its ten mailboxes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BundleAlias, BundleMailbox } from '../../bundle/schema.ts';
import { planRecipients } from '../../mta/src/delivery/routing.ts';
import type { IntakeConfig } from '../../mta/src/smtp/index.ts';
import { stopAll } from '../harness/process.ts';
import { queueIdOf, renderExampleBundle, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';

function latticeBundle(): IntakeConfig {
  const { bundle, secrets } = renderExampleBundle();
  const source = bundle.mailboxes[0]!.source;
  const template = bundle.mailboxes[0]!;
  const mailboxes: BundleMailbox[] = [];
  const aliases: BundleAlias[] = [];
  const layers = (prefix: string, levels: number, width: number, leaves: string[]) => {
    for (let l = 0; l < levels; l++) {
      const next = l + 1 < levels ? Array.from({ length: width }, (_, i) => `${prefix}${l + 1}-${i}@example.com`) : leaves;
      for (let i = 0; i < width; i++) aliases.push({ address: `${prefix}${l}-${i}@example.com`, to: next, source });
    }
  };
  const boxes = (prefix: string, n: number) => {
    const made = Array.from({ length: n }, (_, i) => ({ ...template, address: `${prefix}${i}@example.com`, login: false, sendAs: [] }));
    mailboxes.push(...made);
    return made.map((m) => m.address);
  };
  layers('lat', 9, 10, boxes('leaf', 10));
  layers('wide', 2, 10, boxes('many', 1_001));
  layers('deep', 11, 1, boxes('bottom', 1));
  aliases.push({ address: 'loop-a@example.com', to: ['loop-b@example.com'], source }, { address: 'loop-b@example.com', to: ['loop-a@example.com'], source });
  return { secrets, bundle: { ...bundle, mailboxes: [...bundle.mailboxes, ...mailboxes], aliases: [...bundle.aliases, ...aliases] } };
}

describe('abuse - alias lattice', () => {
  let f: IntakeFixture;
  before(async () => {
    f = await startIntakeFixture({ name: 'nats-alias-lattice', config: latticeBundle() });
  });
  after(async () => {
    await f?.close();
    await stopAll();
  });

  test('over the target cap, too deep, or a loop: 550 5.4.6 at RCPT; the lattice itself is accepted', { timeout: 30_000 }, async () => {
    const { log } = await playTranscript(
      f.mx,
      `
s: 220 *
c: EHLO client.example
s: 250 *
c: MAIL FROM:<sender@remote.example>
s: 250 *
c: RCPT TO:<wide0-0@example.com>
s: 550 5.4.6 Alias expands to too many recipients
c: RCPT TO:<deep0-0@example.com>
s: 550 5.4.6 Routing loop detected: alias chain too deep
c: RCPT TO:<loop-a@example.com>
s: 550 5.4.6 Routing loop detected
c: RCPT TO:<deep1-0@example.com>
s: 250 *
c: RCPT TO:<lat0-0@example.com>
s: 250 *
c: DATA
s: 354 *
c: Subject: lattice
c:
c: Hello.
c: .
s: 250 2.6.0 *
c: QUIT
s: 221 *`,
    );
    const stored = await f.stored(queueIdOf(log.join('\n')));
    const plan = planRecipients(
      f.config.bundle,
      stored.record.envelope.mailFrom.address,
      stored.record.envelope.rcptTo.map((r) => r.address),
      { localMaildirRoot: '/var/mail' },
    );
    assert.deepEqual(plan.unroutable, []);
    const lattice = plan.groups.flatMap((g) => g.deliveries).filter((d) => d.envelopeRecipient === 'lat0-0@example.com');
    assert.deepEqual(lattice.map((d) => d.address).sort(), Array.from({ length: 10 }, (_, i) => `leaf${i}@example.com`).sort());
  });
});
