import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSrsLocalPart, srsForward, srsReverse, timestamp } from './srs.ts';

// Vectors made with pysrs 1.0.4 (Debian python3-srs, SRS.Guarded, hash length 4, max age 21)
// at Unix time 1795000000 (2026-11-18).
const t = 1_795_000_000_000;
const ours = { keys: ['stafette-test-key-1'], now: () => t };
const theirs = { keys: ['other'], now: () => t };
const day = 86_400_000;

describe('SRS forward (vectors from pysrs)', () => {
  test('a plain sender becomes SRS0 at the forwarding domain, its case kept', () => {
    assert.equal(srsForward('Alice@Sender.Test', 'example.com', ours), 'SRS0=aLB/=JH=Sender.Test=Alice@example.com');
    assert.equal(srsForward('bob+tag@sender.test', 'example.com', ours), 'SRS0=fIJL=JH=sender.test=bob+tag@example.com');
  });

  test('an SRS0 address of another forwarder becomes SRS1; an SRS1 is re-signed, keeping the first forwarder', () => {
    const first = 'SRS0=aLB/=JH=Sender.Test=Alice@example.com';
    const second = srsForward(first, 'forwarder.test', theirs);
    assert.equal(second, 'SRS1=MCtG=example.com==aLB/=JH=Sender.Test=Alice@forwarder.test');
    assert.equal(srsForward(second, 'example.com', ours), 'SRS1=icCh=example.com==aLB/=JH=Sender.Test=Alice@example.com');
  });

  test('the null sender and senders of the forwarding domain are kept', () => {
    assert.equal(srsForward('', 'example.com', ours), '');
    assert.equal(srsForward('carol@Example.com', 'example.com', ours), 'carol@Example.com');
  });

  test('the day stamp is two base32 characters of days since the epoch, mod 1024', () => {
    assert.equal(timestamp(1_795_000_000), 'JH');
    assert.equal(timestamp(0), 'AA');
    assert.equal(timestamp(1023 * 86_400), '77');
    assert.equal(timestamp(1024 * 86_400), 'AA');
  });
});

describe('SRS reverse', () => {
  test('our SRS0 address gives back the original sender', () => {
    assert.deepEqual(srsReverse('SRS0=aLB/=JH=Sender.Test=Alice', ours), { ok: true, address: 'Alice@Sender.Test' });
  });

  test('a remote MTA that smashed case still reverses (as pysrs does)', () => {
    assert.deepEqual(srsReverse('srs0=alb/=jh=sender.test=alice', ours), { ok: true, address: 'alice@sender.test' });
  });

  test("our SRS1 address gives back the first forwarder's SRS0 address", () => {
    assert.deepEqual(srsReverse('SRS1=icCh=example.com==aLB/=JH=Sender.Test=Alice', ours), { ok: true, address: 'SRS0=aLB/=JH=Sender.Test=Alice@example.com' });
  });

  test('forged: a wrong hash, another key, a changed address are refused', () => {
    assert.deepEqual(srsReverse('SRS0=AAAA=JH=Sender.Test=Alice', ours), { ok: false, reason: 'bad-hash' });
    assert.deepEqual(srsReverse('SRS0=aLB/=JH=Sender.Test=Mallory', ours), { ok: false, reason: 'bad-hash' });
    assert.deepEqual(srsReverse('SRS0=aLB/=JH=Sender.Test=Alice', theirs), { ok: false, reason: 'bad-hash' });
    assert.deepEqual(srsReverse('SRS0=aLB=JH=Sender.Test=Alice', ours), { ok: false, reason: 'bad-hash' });
  });

  test('an address older than the maximum age is refused; one from the future too', () => {
    const address = srsForward('alice@sender.test', 'example.com', ours).split('@')[0]!;
    assert.equal(srsReverse(address, { ...ours, now: () => t + 21 * day }).ok, true);
    assert.deepEqual(srsReverse(address, { ...ours, now: () => t + 22 * day }), { ok: false, reason: 'expired' });
    assert.deepEqual(srsReverse(address, { ...ours, now: () => t - day }), { ok: false, reason: 'expired' });
  });

  test('key rotation: an address signed with the old key still reverses while the old key is listed', () => {
    const address = srsForward('alice@sender.test', 'example.com', { keys: ['old'], now: () => t }).split('@')[0]!;
    assert.equal(srsReverse(address, { keys: ['new', 'old'], now: () => t }).ok, true);
    assert.deepEqual(srsReverse(address, { keys: ['new'], now: () => t }), { ok: false, reason: 'bad-hash' });
  });

  test('what is not SRS, or not well formed, is told apart', () => {
    assert.deepEqual(srsReverse('alice', ours), { ok: false, reason: 'not-srs' });
    assert.deepEqual(srsReverse('SRS0=aLB/=JH', ours), { ok: false, reason: 'malformed' });
    assert.equal(isSrsLocalPart('SRS0+x=y'), true);
    assert.equal(isSrsLocalPart('srs1=x'), true);
    assert.equal(isSrsLocalPart('srs2=x'), false);
  });
});
