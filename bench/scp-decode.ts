import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeScp } from '#device-drivers';
import { TESTDATA, twelveLeadRecord } from './records.ts';
import { fmt, median, timeRuns } from './stats.ts';

export interface Row {
  what: string;
  median: string;
  ratio: string;
}

/** SCP decode time per 10 s 12-lead record, against the same samples stored without compression. */
export function benchScpDecode(): { rows: Row[]; notes: string[] } {
  const notes: string[] = [];
  const generated = twelveLeadRecord(1, { huffman: 'default', difference: 2 });
  const baselineBytes = twelveLeadRecord(1, { huffman: 'none', difference: 0 });
  const cases: Array<{ what: string; bytes: Uint8Array }> = [
    { what: 'generated 12-lead, 10 s, 500 Hz, default Huffman, 2nd differences', bytes: generated },
  ];
  const example = join(TESTDATA, 'scp/ecgtoolkit_Example.scp');
  if (existsSync(example)) {
    cases.push({
      what: 'ecgtoolkit_Example.scp (12-lead, 10 s, 500 Hz, real record)',
      bytes: readFileSync(example),
    });
  } else {
    notes.push('../shared/testdata is absent: the real-record row is skipped.');
  }
  const baseline = median(timeRuns(() => decodeScp(baselineBytes)));
  const rows: Row[] = [
    {
      what: `baseline: same generated samples, no Huffman, no differences (${baselineBytes.length} B)`,
      median: fmt(baseline, 3),
      ratio: '1.00',
    },
  ];
  for (const c of cases) {
    const leads = decodeScp(c.bytes).leads;
    if (leads.length !== 12 || leads[0]!.samples.length !== 5000)
      throw new Error(`${c.what}: expected 12 leads × 5000 samples`);
    const ms = median(timeRuns(() => decodeScp(c.bytes)));
    rows.push({ what: `${c.what} (${c.bytes.length} B)`, median: fmt(ms, 3), ratio: fmt(ms / baseline) });
  }
  return { rows, notes };
}
