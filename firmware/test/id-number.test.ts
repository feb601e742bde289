import test from 'ava';
import fc from 'fast-check';
import { checkCharacter, checkIdNumber } from '../src/patient/id-number.ts';

const today = new Date('2026-11-28T00:00:00Z');

test('GB 11643 check character: the standard example and an X', (t) => {
  // GB 11643-1999 Annex A example: 11010519491231002X.
  t.is(checkCharacter('11010519491231002'), 'X');
  t.like(checkIdNumber('11010519491231002X', today), {
    ok: true,
    facts: { birthDate: '1949-12-31', sex: 'F' },
  });
  t.like(checkIdNumber('11010519491231002x', today), { ok: true }, 'a typed lower-case x');
  t.like(checkIdNumber('410105197001020018', today), {
    ok: true,
    facts: { sex: 'M', birthDate: '1970-01-02' },
  });
});

test('wrong check digit, an impossible date, the wrong shape: each problem named', (t) => {
  const wrong = checkIdNumber('110105194912310021', today);
  t.false(wrong.ok);
  t.deepEqual(!wrong.ok && wrong.problems, ['check digit is 1, the number calls for X']);
  const feb30 = `1101051990023000${'1'}`;
  const bad = checkIdNumber(feb30 + checkCharacter(feb30), today);
  t.deepEqual(!bad.ok && bad.problems, ['birth date 1990-02-30 in the number is not a real date']);
  const future = `11010520300101001`;
  t.deepEqual((checkIdNumber(future + checkCharacter(future), today) as { problems: string[] }).problems, [
    'birth date 2030-01-01 is in the future',
  ]);
  t.regex(
    (checkIdNumber('12345', today) as { problems: string[] }).problems[0]!,
    /the ID number is not 17 digits/,
  );
});

test('property: a valid number with any one digit changed fails the check digit (MOD 11-2 catches single errors)', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1930, max: 2020 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 28 }),
      fc.integer({ min: 0, max: 999 }),
      fc.integer({ min: 0, max: 16 }),
      fc.integer({ min: 1, max: 9 }),
      (y, m, d, seq, at, delta) => {
        const first17 = `410105${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
        const valid = first17 + checkCharacter(first17);
        if (!checkIdNumber(valid, today).ok) return false;
        const changed = valid.slice(0, at) + ((Number(valid[at]) + delta) % 10) + valid.slice(at + 1);
        const result = checkIdNumber(changed, today);
        return !result.ok && result.problems.some((p) => p.startsWith('check digit'));
      },
    ),
  );
  t.pass();
});
