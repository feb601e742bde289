import test from 'ava';
import type { IdCardRead } from '#device-drivers';
import { identityFromCard, maskIdNumber } from '../src/patient/patient-identity.ts';

const read: IdCardRead = {
  name: '李四',
  sex: 'F',
  ethnicityCode: '01',
  birthDate: '1985-12-03',
  address: '河南省开封市顺河回族区1号',
  idNumber: '410203198512030020',
  issuingOffice: '开封市公安局',
  validFrom: '2015-01-01',
  validTo: '2035-01-01',
  photo: new Uint8Array(1024),
};
const now = new Date('2026-11-28T08:00:00Z');

test('a valid card becomes an unverified identity holding only ID, name, sex and birth date', (t) => {
  const result = identityFromCard(read, now);
  t.deepEqual(result, {
    ok: true,
    identity: {
      source: 'id-card',
      idNumber: '410203198512030020',
      name: '李四',
      sex: 'F',
      birthDate: '1985-12-03',
      verification: 'unverified',
      at: '2026-11-28T08:00:00.000Z',
    },
  });
  t.false(JSON.stringify(result).includes('河南省'), 'no address');
});

test('a card whose number, birth date or sex disagree is refused with reasons that carry no personal data', (t) => {
  const wrongBirth = identityFromCard({ ...read, birthDate: '1985-12-04' }, now);
  t.deepEqual(wrongBirth, {
    ok: false,
    problems: ["the birth date in the ID number does not match the card's birth date field"],
  });
  const wrongSex = identityFromCard({ ...read, sex: 'M' }, now);
  t.false(wrongSex.ok);
  const badNumber = identityFromCard({ ...read, idNumber: '410203198512030021' }, now);
  t.false(badNumber.ok);
  const text = JSON.stringify([wrongBirth, wrongSex, badNumber]);
  t.false(/41020319|李四/.test(text), text);
});

test('ID numbers are masked for screens', (t) => {
  t.is(maskIdNumber('410203198512030020'), '4102**********0020');
});
