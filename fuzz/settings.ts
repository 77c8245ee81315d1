// How every fuzz target runs (docs/fuzzing.md): a fixed seed and a bounded number of runs by
// default, so `make fuzz` is reproducible and quick; FUZZ_RUNS and FUZZ_SEED for long runs.
//
//   FUZZ_RUNS=<n>        runs per property (default: the target's own, sized for `make test`)
//   FUZZ_SEED=<n>|random the seed (default 20261202); `random` draws one and prints it
//   FUZZ_PATH=<path>     with FUZZ_SEED, replays one counterexample fast-check reported
import fc from 'fast-check';

const defaultSeed = 20261202;

function seedOf(text: string | undefined): number {
  if (text === undefined || text === '') return defaultSeed;
  if (text === 'random') {
    const seed = Math.floor(Math.random() * 0x7fffffff);
    console.log(`fuzz: FUZZ_SEED=${seed}`);
    return seed;
  }
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer or "random", not ${JSON.stringify(text)}`);
  return seed;
}

const seed = seedOf(process.env.FUZZ_SEED);
const runs = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : null;
if (runs !== null && !(Number.isInteger(runs) && runs > 0)) throw new Error(`FUZZ_RUNS must be a positive integer, not ${process.env.FUZZ_RUNS}`);

/** fast-check parameters for one property: `defaultRuns` unless FUZZ_RUNS says otherwise. */
export function fuzzParameters<T>(defaultRuns: number): fc.Parameters<T> {
  const path = process.env.FUZZ_PATH;
  return { seed, numRuns: runs ?? defaultRuns, ...(path ? { path } : {}) };
}

/** Runs a property with the shared parameters (fc.assert throws the shrunk counterexample, seed and path). */
export function fuzz<T>(property: fc.IPropertyWithHooks<T>, defaultRuns: number): void {
  fc.assert(property, fuzzParameters<T>(defaultRuns));
}

// Characters that reach the tricky space of mail parsers: line ends, NUL, dots, colons, quotes,
// backslashes, blanks, '@' and '+', 8-bit and multi-byte UTF-8, a lone surrogate.
const trickyChars = [
  '\r',
  '\n',
  '\0',
  '.',
  ':',
  ' ',
  '\t',
  '"',
  '\\',
  '@',
  '+',
  '=',
  ';',
  ',',
  '<',
  '>',
  '\x7f',
  '\x1b',
  'ü',
  '😀',
  '\u2028',
  '\ud800',
  '\ufeff',
];

// fast-check keeps generated lengths small unless told otherwise ('small': about 10); mail
// parsers need long lines and long strings, so these ask for more (still within maxLength).

/** A string mixing plain text with the tricky characters above. */
export function trickyString(maxLength = 200): fc.Arbitrary<string> {
  const unit = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...trickyChars) },
    { weight: 4, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'.split('')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  );
  return fc.string({ unit, maxLength, size: 'medium' });
}

/** Bytes biased towards CR, LF, NUL, '.', ':' and 8-bit values. */
export function trickyBytes(maxLength = 4096): fc.Arbitrary<Uint8Array> {
  const byte = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(0x0d, 0x0a, 0x00, 0x2e, 0x3a, 0x20, 0x09, 0xff, 0xc3, 0xbc) },
    { weight: 4, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  return fc.array(byte, { maxLength, size: 'large' }).map((a) => Uint8Array.from(a));
}

/** Bytes mutated from a valid input: flipped, deleted, inserted and duplicated ranges, truncation. */
export function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: trickyBytes(16) }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 8 }).map((edits) => {
    let bytes = Buffer.from(valid);
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % (bytes.length + 1);
      if (e.kind === 'flip' && at < bytes.length) bytes[at] = e.value;
      else if (e.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.length)]);
      else if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
      else if (e.kind === 'duplicate') bytes = Buffer.concat([bytes.subarray(0, at + e.length), bytes.subarray(at)]);
      else if (e.kind === 'truncate') bytes = bytes.subarray(0, at);
    }
    return new Uint8Array(bytes);
  });
}
