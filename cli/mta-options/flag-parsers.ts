// Argument parsers shared by the `stafette mta` flag groups (cli/mta-options/*.ts).
import { InvalidArgumentError } from 'commander';

export function integer(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`an integer of at least ${min} is needed`);
    return n;
  };
}

/** An rspamd score: a finite number (rspamd's scores may be fractional or negative). */
export function score(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('a number is needed');
  return n;
}
