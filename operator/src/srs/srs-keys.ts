// The SRS secrets of the bundle (the MTA's mta/src/srs/ signs forwarded senders with the first
// and verifies bounces with all), rotated without state of their own: each rotation period has
// a key derived from the operator's master key (the key of its own password-index Secret, which
// MTA pods never see) by HMAC with the period's number. The bundle carries the current key and
// the previous one, so an SRS address made just before a rotation still verifies for a whole
// period afterwards; the period (default 30 days) is longer than an SRS address lives (21
// days, mta/src/srs/srs.ts), so every valid address verifies. Every operator replica and every
// restart derives the same keys, so the bundle is stable between rotations.
import { createHmac } from 'node:crypto';

export const defaultSrsRotationDays = 30;

/** [current, previous] for the instant `nowMs`. */
export function srsKeysAt(masterKey: Buffer, nowMs: number, rotationDays = defaultSrsRotationDays): string[] {
  const period = Math.floor(nowMs / (rotationDays * 86_400_000));
  return [period, period - 1].map((p) => createHmac('sha256', masterKey).update(`stafette-srs:${p}`).digest('base64url'));
}

/** When the keys change next (for re-rendering the bundle in time). */
export function nextSrsRotationMs(nowMs: number, rotationDays = defaultSrsRotationDays): number {
  const length = rotationDays * 86_400_000;
  return (Math.floor(nowMs / length) + 1) * length;
}
