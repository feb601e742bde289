import test from 'ava';
import fc from 'fast-check';
import { checkCharacter } from '../src/patient/id-number.ts';
import { identityFromEntry, identityFromScan } from '../src/patient/patient-label.ts';

const NOW = new Date('2026-11-28T12:00:00Z');

test('a clinic patient label identifies the patient; a bare ID number leaves the name to staff', (t) => {
  const label = identityFromScan('TMP1|410105197001020018|赵六|M|1970-01-02', NOW);
  t.true(label.ok);
  if (label.ok)
    t.like(label.identity, { source: 'qr', idNumber: '410105197001020018', name: '赵六', sex: 'M' });
  const bare = identityFromScan(' 11010519491231002x\n', NOW);
  t.true(bare.ok);
  if (bare.ok)
    t.like(bare.identity, { idNumber: '11010519491231002X', name: '', sex: 'F', birthDate: '1949-12-31' });
});

test('labels and codes that identify nobody are refused with every reason, never the number', (t) => {
  const refused = (text: string) => {
    const r = identityFromScan(text, NOW);
    t.false(r.ok);
    return r.ok ? [] : r.problems;
  };
  t.deepEqual(refused('TMP1|410105197001020018|赵六|M'), [
    'the patient label does not have its 4 fields (ID number, name, sex, birth date)',
  ]);
  t.deepEqual(refused('TMP1|410105197001020018||X|1970/01/02'), [
    'the patient label carries no name',
    'the sex on the patient label is not M or F',
    'the birth date on the patient label is not YYYY-MM-DD',
  ]);
  t.deepEqual(refused('TMP1|410105197001020018|赵六|F|1970-01-03'), [
    'the birth date given does not match the birth date in the ID number',
    'the sex given does not match the sex the ID number encodes',
  ]);
  t.regex(refused('410105197001020019')[0] ?? '', /check digit/);
  t.regex(refused('6901234567892')[0] ?? '', /neither a patient label nor a resident ID number/);
  for (const problems of [refused('410105197001020019'), refused('TMP1|410105197001020019|x|M|1970-01-02')])
    t.false(problems.join(' ').includes('41010519700102'), 'no ID number in a problem text');
});

test('manual entry: required fields named together; what is given must agree with the number', (t) => {
  const r = identityFromEntry({ sex: 'X', birthDate: '1970' }, NOW);
  t.false(r.ok);
  if (!r.ok)
    t.deepEqual(r.problems, [
      'idNumber is required (the 18-character resident ID number)',
      'name is required',
      "sex must be 'M' or 'F'",
      'birthDate must be YYYY-MM-DD',
    ]);
  t.false(identityFromEntry([], NOW).ok);
  t.false(identityFromEntry({ idNumber: '410105197001020018', name: 'a|b' }, NOW).ok);
  const ok = identityFromEntry(
    { idNumber: '410105197001020018', name: ' 赵六 ', sex: 'M', birthDate: '1970-01-02' },
    NOW,
  );
  t.true(ok.ok);
  if (ok.ok) t.like(ok.identity, { source: 'manual', name: '赵六', verification: 'unverified' });
});

test('property: any valid number in a label round-trips; any text is identified or refused, never thrown', (t) => {
  const validNumber = fc
    .tuple(
      fc.integer({ min: 110000, max: 659999 }),
      fc.date({ min: new Date('1900-01-01'), max: new Date('2026-01-01'), noInvalidDate: true }),
      fc.integer({ min: 0, max: 999 }),
    )
    .map(([area, birth, seq]) => {
      const first17 = `${area}${birth.toISOString().slice(0, 10).replaceAll('-', '')}${String(seq).padStart(3, '0')}`;
      return {
        number: first17 + checkCharacter(first17),
        birth: birth.toISOString().slice(0, 10),
        sex: seq % 2 ? 'M' : 'F',
      };
    });
  fc.assert(
    fc.property(
      validNumber,
      fc.string({ minLength: 1, maxLength: 20 }).filter((n) => !/[|\\^=\p{Cc}]/u.test(n) && n.trim() !== ''),
      (v, name) => {
        const r = identityFromScan(`TMP1|${v.number}|${name}|${v.sex}|${v.birth}`, NOW);
        t.true(r.ok, JSON.stringify(r));
        if (r.ok) t.like(r.identity, { idNumber: v.number, name: name.trim(), birthDate: v.birth });
      },
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (text) => {
      const r = identityFromScan(text, NOW);
      t.true(r.ok || r.problems.length > 0);
    }),
    { numRuns: 1000 },
  );
});
