import test from 'ava';

/**
 * `test` (or `test.serial`) when what the tests need is here, otherwise `test.skip`, with the
 * reason printed once: a missing tool or data set shows as skipped, never as passed.
 */
export function testWhen(have: boolean, reason: string, serial = false): typeof test.skip {
  if (!have) console.log(`skipped: ${reason}`);
  return have ? (serial ? test.serial : test) : test.skip;
}
