import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Backoff, type CardText, type IdCardRead, IdCardReader, NodeSerialOpener } from '#device-drivers';
import { PtyCable } from '../src/cart/pty-pair.ts';
import { IdReaderSimulator } from '../src/id-reader/id-reader-simulator.ts';
import { until } from './helpers/harness.ts';

const card: CardText = {
  name: '李四',
  sexCode: '2',
  ethnicityCode: '01',
  birthDate: '19851203',
  address: '河南省开封市顺河回族区1号',
  idNumber: '410203198512030020',
  issuingOffice: '开封市公安局',
  validFrom: '20150101',
  validTo: '20350101',
};

async function rig(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'id-reader-'));
  const cable = new PtyCable(dir, 'id-reader');
  await cable.plug();
  const sim = new IdReaderSimulator(cable.cartEnd);
  await sim.start();
  const cards: IdCardRead[] = [];
  const problems: string[] = [];
  const reader = new IdCardReader({
    identity: { path: cable.terminalEnd },
    opener: new NodeSerialOpener(),
    onCard: (c) => cards.push(c),
    onProblem: (m) => problems.push(m),
    pollMs: 100,
    replyTimeoutMs: 500,
    backoff: new Backoff({ initialMs: 50, maxMs: 200 }),
  });
  reader.start();
  t.teardown(async () => {
    await reader.stop();
    await sim.stop();
    await cable.unplug();
  });
  await until('reader connected', () => reader.state === 'connected', 5000);
  return { cable, sim, reader, cards, problems };
}

test.serial(
  'a card laid on the reader is read once, over a real pty: find, select, read, GA/T 490 fields',
  async (t) => {
    const { sim, reader, cards } = await rig(t);
    sim.present(card, 5000);
    await until('card read', () => cards.length === 1, 5000);
    t.like(cards[0], {
      name: '李四',
      sex: 'F',
      birthDate: '1985-12-03',
      idNumber: '410203198512030020',
      validTo: '2035-01-01',
    });
    t.is(cards[0]!.photo.length, 1024);
    // Still lying there: not read again. Lifted and laid down again: read again.
    await new Promise((r) => setTimeout(r, 800));
    t.is(cards.length, 1);
    sim.lift();
    await new Promise((r) => setTimeout(r, 400)); // a few polls that find no card
    sim.present(card, 1000);
    await until('read again', () => cards.length === 2, 5000);
    t.is(reader.counters.cardsRead, 2);
    t.is(sim.counters.reads, 2);
  },
);

test.serial(
  'damaged replies and line noise: counted, the card is still read; an unplugged reader comes back',
  async (t) => {
    const { cable, sim, reader, cards, problems } = await rig(t);
    sim.faults = { noiseBeforeReplies: Uint8Array.of(0x00, 0xaa, 0xff, 0x96), damageReplies: 2 };
    sim.present(card, 3000);
    await until('card read through the faults', () => cards.length === 1, 8000);
    t.true(reader.counters.badFrames >= 2, `${reader.counters.badFrames} bad frames`);
    t.true(problems.some((p) => /damaged reply/.test(p)));

    await cable.unplug();
    await until('disconnect seen', () => reader.counters.disconnects === 1, 5000);
    t.is(reader.state, 'searching');
    await cable.plug();
    await sim.stop();
    const again = new IdReaderSimulator(cable.cartEnd);
    await again.start();
    t.teardown(() => again.stop());
    await until('reconnected', () => reader.state === 'connected' && reader.counters.connects === 2, 8000);
    again.present(card, 2000);
    await until('read after replug', () => cards.length === 2, 8000);
  },
);

test.serial(
  'an unknown status, and a card lifted mid-read: each refused with what to do; the card read when it is there',
  async (t) => {
    const { sim, cards, problems } = await rig(t);
    // A status the protocol does not know: refused with it named; the card, still there, is read on
    // the next try.
    sim.faults = { readStatus: 0x41 };
    sim.present(card, 1500);
    await until('unknown status told', () => problems.some((p) => /status 41/.test(p)), 5000);
    await until('read on the next try', () => cards.length === 1, 5000);
    await new Promise((r) => setTimeout(r, 1700)); // lifted
    // Lifted between select and read: refused, and nothing half-read is reported.
    sim.faults = { liftBeforeRead: true };
    sim.present(card, 3000);
    await until(
      'lifted mid-read told',
      () => problems.some((p) => /could not be read .*lay it flat and still/.test(p)),
      5000,
    );
    await new Promise((r) => setTimeout(r, 500));
    t.is(cards.length, 1, 'nothing half-read is reported');
    sim.present(card, 2000);
    await until('read when laid again', () => cards.length === 2, 5000);
    t.is(cards[1]?.idNumber, '410203198512030020');
  },
);
