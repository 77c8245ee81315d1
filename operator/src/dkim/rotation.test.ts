// DKIM rotation as a specification: publish first, sign once visible, retire after overlap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, specSchemaOf } from '../../../crds/src/crd-schemas.ts';
import type { MailDomainSpec, MailDomainSpecResolved } from '../../../crds/src/index.ts';
import { nextSelector, parseRotationPeriod, planRotation, type KeyView, type RotationOptions } from './rotation.ts';

const schema = specSchemaOf('MailDomain');
const spec = (s: Omit<MailDomainSpec, 'domain'>) => applyDefaults(schema, { domain: 'example.com', ...s }) as MailDomainSpecResolved;
const day = 86_400_000;
const t0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0 + ms).toISOString();
const options = (nowMs: number, visible: string[] = []): RotationOptions => ({
  now: new Date(t0 + nowMs),
  visible: new Set(visible),
  propagationDelayMs: 3_600_000,
  retireAfterMs: 7 * day,
});
const key = (selector: string, state: KeyView['state'], createdMs = 0, extra: Partial<KeyView> = {}): KeyView => ({
  selector,
  algorithm: 'rsa-sha256',
  state,
  secretName: `d-dkim-${selector}`,
  createdAt: at(createdMs),
  ...extra,
});

test('a new domain gets one signing key per algorithm at once', () => {
  const plan = planRotation(spec({ dkim: { selector: 's', algorithm: 'both' } }), [], options(0));
  assert.deepEqual(plan.create, [
    { selector: 's-rsa', algorithm: 'rsa-sha256', state: 'Signing' },
    { selector: 's-ed25519', algorithm: 'ed25519-sha256', state: 'Signing' },
  ]);
});

test('a key past rotateAfter gets a successor that is only published', () => {
  const plan = planRotation(spec({ dkim: { selector: 's', rotateAfter: '90d' } }), [key('s', 'Signing')], options(91 * day));
  assert.deepEqual(plan.create, [{ selector: 's-r2', algorithm: 'rsa-sha256', state: 'Published' }]);
  assert.deepEqual(plan.promote, []);
});

test('before rotation is due, the plan says when to look again', () => {
  const plan = planRotation(spec({ dkim: { selector: 's', rotateAfter: '90d' } }), [key('s', 'Signing')], options(10 * day));
  assert.deepEqual(plan.create, []);
  assert.equal(plan.recheckInMs, 80 * day);
});

test('the published key signs once DNS shows it, and the old one starts retiring', () => {
  const keys = [key('s', 'Signing'), key('s-r2', 'Published', 91 * day)];
  const early = planRotation(spec({ dkim: { selector: 's', rotateAfter: '90d' } }), keys, options(91 * day + 60_000));
  assert.deepEqual([early.promote, early.retire], [[], []]);
  assert.equal(early.recheckInMs, 3_600_000 - 60_000);
  const seen = planRotation(spec({ dkim: { selector: 's', rotateAfter: '90d' } }), keys, options(91 * day + 60_000, ['s-r2']));
  assert.deepEqual([seen.promote, seen.retire], [['s-r2'], ['s']]);
});

test('without DNS confirmation the published key signs after the propagation delay', () => {
  const keys = [key('s', 'Signing'), key('s-r2', 'Published', 91 * day)];
  const plan = planRotation(spec({ dkim: { selector: 's' } }), keys, options(91 * day + 3_600_000));
  assert.deepEqual([plan.promote, plan.retire], [['s-r2'], ['s']]);
});

test('a retiring key is deleted after the overlap', () => {
  const keys = [key('s-r2', 'Signing'), key('s', 'Retiring', 0, { retiringSince: at(day) })];
  assert.deepEqual(planRotation(spec({ dkim: { selector: 's' } }), keys, options(5 * day)).delete, []);
  assert.deepEqual(planRotation(spec({ dkim: { selector: 's' } }), keys, options(8 * day)).delete, ['d-dkim-s']);
});

test('changing the selector in the spec rotates to the new family', () => {
  const plan = planRotation(spec({ dkim: { selector: 'new' } }), [key('old', 'Signing')], options(0));
  assert.deepEqual(plan.create, [{ selector: 'new', algorithm: 'rsa-sha256', state: 'Published' }]);
});

test('dropping an algorithm retires its signing key', () => {
  const keys = [key('s', 'Signing'), { ...key('s-ed25519', 'Signing'), algorithm: 'ed25519-sha256' as const }];
  assert.deepEqual(planRotation(spec({ dkim: { selector: 's', algorithm: 'rsa-2048' } }), keys, options(0)).retire, ['s-ed25519']);
});

test('selectors of a family never repeat', () => {
  assert.equal(nextSelector('s', []), 's');
  assert.equal(nextSelector('s', ['s']), 's-r2');
  assert.equal(nextSelector('s', ['s', 's-r2', 's-r7', 'sx-r9']), 's-r8');
  assert.deepEqual([parseRotationPeriod('90d'), parseRotationPeriod('2h'), parseRotationPeriod(undefined)], [90 * day, 7_200_000, null]);
});
