import WebSocket from 'ws';
import { buildFirmware } from '../firmware/build.ts';
import type { ServerMessage, StatusResponse } from '../firmware/src/api/types.ts';
import { RigUnderTest, sleep, until } from './end-to-end.ts';
import { twelveLeadRecord } from './records.ts';
import type { Row } from './scp-decode.ts';
import { fmt, median, percentile } from './stats.ts';

const CARDS = [
  { idNumber: '410203198512030020', name: '李四', sexCode: '2', birthDate: '19851203' },
  { idNumber: '410105197001020018', name: '赵六', sexCode: '1', birthDate: '19700102' },
];

/**
 * GA 467 bytes on the line for one card: find (command 10 B, "card found" reply 11 B), select
 * (10 B, reply 19 B with the card's serial), read (10 B, reply: preamble 5, length 2, SW 3, text and
 * photo lengths 4, text 256, photo 1024, checksum 1).
 */
const CARD_LINE_BYTES = 10 + 11 + 10 + 19 + 10 + (5 + 2 + 3 + 4 + 256 + 1024 + 1);
/** 8N1: ten bits a byte. */
const LINK_MS = (CARD_LINE_BYTES * 10 * 1000) / 115200;
/** The reader driver asks "card present?" this often (id-card-reader.ts). */
const POLL_MS = 500;

export interface PeripheralsResult {
  card: Row[];
  power: Row[];
  notes: string[];
}

/** The kiosk's WebSocket: resolves with the first status push that satisfies `match`. */
function kioskPush(rig: RigUnderTest): {
  next(match: (s: StatusResponse) => boolean): Promise<number>;
  close(): void;
} {
  const url = new URL(rig.state.kioskUrl);
  const ws = new WebSocket(`ws://${url.host}/api/v1/events?token=${encodeURIComponent(rig.state.apiToken)}`, {
    headers: { host: url.host },
  });
  let waiting: { match: (s: StatusResponse) => boolean; resolve: (at: number) => void } | null = null;
  ws.on('message', (data) => {
    const at = performance.now();
    const message = JSON.parse(String(data)) as ServerMessage;
    if (message.type === 'status' && waiting?.match(message.status)) {
      waiting.resolve(at);
      waiting = null;
    }
  });
  return {
    next: (match) =>
      new Promise((resolve) => {
        waiting = { match, resolve };
      }),
    close: () => ws.close(),
  };
}

export async function benchPeripherals(dir: string): Promise<PeripheralsResult> {
  const rig = await RigUnderTest.start(dir, await buildFirmware());
  const notes: string[] = [];
  try {
    await until(
      'the ID card reader connected',
      async () => (await rig.status()).idReaders[0]?.state === 'connected',
      60_000,
    );
    const push = kioskPush(rig);
    await sleep(500);
    const totals: number[] = [];
    for (let k = 0; k < 12; k++) {
      const card = CARDS[k % 2]!;
      const masked = `${card.idNumber.slice(0, 4)}**********${card.idNumber.slice(-4)}`;
      const shown = push.next(
        (s) => s.patient?.idNumberMasked === masked && s.study?.patient?.idNumberMasked === masked,
      );
      const t0 = performance.now();
      await rig.control({
        command: 'id-card',
        seconds: 1,
        card: {
          name: card.name,
          sexCode: card.sexCode,
          ethnicityCode: '01',
          birthDate: card.birthDate,
          address: '河南省郑州市测试路1号',
          idNumber: card.idNumber,
          issuingOffice: '郑州市公安局',
          validFrom: '20200101',
          validTo: '20400101',
        },
      });
      totals.push((await shown) - t0);
      await sleep(1700); // the card is lifted after 1 s; the reader must see "no card" first
    }
    push.close();
    const total = median(totals);
    const card: Row[] = [
      {
        what: `link: ${CARD_LINE_BYTES} B of GA 467 frames at 115200 8N1 (the rig paces its reader at that rate)`,
        median: fmt(LINK_MS, 0),
        ratio: fmt(LINK_MS / total),
      },
      {
        what: `polling: the driver asks for a card every ${POLL_MS} ms (mean wait)`,
        median: fmt(POLL_MS / 2, 0),
        ratio: fmt(POLL_MS / 2 / total),
      },
      {
        what: 'ours: frames, identity check, study opened, status pushed (the rest)',
        median: fmt(Math.max(0, total - LINK_MS - POLL_MS / 2), 0),
        ratio: fmt(Math.max(0, total - LINK_MS - POLL_MS / 2) / total),
      },
      {
        what: `total: card laid → identity on the kiosk (WebSocket push), p90 ${fmt(percentile(totals, 90), 0)} ms`,
        median: fmt(total, 0),
        ratio: '1.00',
      },
    ];
    notes.push(
      'Card rows: the ratio column is the share of the total. The polling wait is 0–500 ms; a reader that interrupts on card presence would remove it.',
    );

    // Power-fail to "flushed", on an idle terminal (the baseline) and with 10 studies in flight: a
    // burst of 10 ECGs being delivered to a slowed data centre, and a scan running.
    const flush = async (): Promise<number> => {
      await rig.control({ command: 'gpio', input: 'power-fail', long: false });
      const panel = await until(
        'flushed',
        async () => {
          const p = (await rig.status()).panel;
          return p.power === 'flushed' ? p : undefined;
        },
        30_000,
      );
      await rig.control({ command: 'gpio', input: 'power-ok', long: false });
      await until('power back', async () => (await rig.status()).panel.power === 'normal', 10_000);
      return panel.lastPowerFailFlushedMs ?? Number.NaN;
    };
    const idle: number[] = [];
    for (let k = 0; k < 5; k++) idle.push(await flush());
    const loaded: number[] = [];
    for (let k = 0; k < 5; k++) {
      await rig.control({ command: 'dc-fault', dc: 'A', fault: { mode: 'slow', delayMs: 3000 } });
      const before = await rig.delivered();
      await rig.send(
        Array.from({ length: 10 }, (_, i) => ({
          name: `PF${k}-${i}.SCP`,
          bytes: twelveLeadRecord(9000 + 10 * k + i),
        })),
        () => {},
      );
      await rig.control({ command: 'scanner-fault', fault: 'slow' });
      await fetch(`${new URL(rig.state.kioskUrl).origin}/api/v1/scans`, {
        method: 'POST',
        headers: { authorization: `Bearer ${rig.state.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ pages: 1 }),
      });
      await until('scanning', async () => (await rig.status()).scanner.job === 'scanning', 10_000);
      loaded.push(await flush());
      await rig.control({ command: 'scanner-fault', fault: null });
      await rig.control({ command: 'dc-fault', dc: 'A', fault: { mode: 'pass' } });
      await until('the burst delivered', async () => (await rig.delivered()) >= before + 10, 120_000);
    }
    const base = median(idle);
    const power: Row[] = [
      {
        what: 'baseline: power fails on an idle terminal (nothing to finish, WAL checkpoint)',
        median: fmt(base, 1),
        ratio: '1.00',
      },
      {
        what: 'ours: with 10 ECGs being delivered (slow data centre) and a scan running',
        median: fmt(median(loaded), 1),
        ratio: fmt(median(loaded) / base),
      },
    ];
    notes.push(
      'Power rows: measured by the firmware from the settled UPS input (after the 30 ms debounce) to the store flushed. A scan in flight is cancelled (a backend that does not stop within 1 s is killed); a recording finishes its segment, bounded by gpio.powerFailBudgetMs (3 s).',
    );
    return { card, power, notes };
  } finally {
    await rig.stop();
  }
}
