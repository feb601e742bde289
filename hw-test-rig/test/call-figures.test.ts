import test from 'ava';
import type { LevelTrack } from '../src/call-measure/analysis.ts';
import { soundFigures } from '../src/call-measure/call-figures.ts';
import type { RoomReport } from '../src/call-measure/room.ts';
import { SCHEDULE, voicePcm } from '../src/call-measure/schedule.ts';

const STEP = 10;

/** What `who` says, heard `delayMs` later at `gain`, as 10 ms levels over [fromMs, toMs). */
function heardTrack(
  parts: Array<{ who: 'specialist' | 'room'; delayMs: number; gain: number }>,
  fromMs: number,
  toMs: number,
): LevelTrack {
  const rms: number[] = [];
  for (let t = fromMs; t < toMs; t += STEP) {
    const mix = new Float64Array(480);
    for (const p of parts) {
      const pcm = voicePcm(p.who, t - p.delayMs, 480);
      for (let i = 0; i < 480; i++) mix[i] = (mix[i] ?? 0) + ((pcm[i] ?? 0) / 32_768) * p.gain;
    }
    rms.push(Math.sqrt(mix.reduce((a, s) => a + s * s, 0) / mix.length));
  }
  return { startMs: fromMs, stepMs: STEP, rms };
}

test('a call’s sound figures come back from what the room recorded and the specialist heard', (t) => {
  const from = 1_796_671_400_000;
  const to = from + 21_000;
  const down = 150; // specialist → terminal loudspeaker
  const up = 200; // terminal microphone → specialist
  const room: RoomReport = {
    speaker: heardTrack([{ who: 'specialist', delayMs: down, gain: 1 }], from - 10_000, to),
    echo: heardTrack([{ who: 'specialist', delayMs: down + 50, gain: 0.3 }], from - 10_000, to),
    talker: heardTrack([{ who: 'room', delayMs: 0, gain: 1 }], from - 10_000, to),
    echoDelayMs: 50,
    echoGain: 0.3,
  };
  // The specialist hears the clinic and, 20 dB down from what reached the microphone, its own echo.
  const heard = heardTrack(
    [
      { who: 'room', delayMs: up, gain: 1 },
      { who: 'specialist', delayMs: down + 50 + up, gain: 0.03 },
    ],
    from - 10_000,
    to,
  );
  const f = soundFigures(room, heard, { toTerminal: 120, toSpecialist: 110 }, from, to);
  t.true(Math.abs((f.audioDelayMs.toTerminal ?? 0) - down) <= STEP, JSON.stringify(f));
  t.true(Math.abs((f.audioDelayMs.toSpecialist ?? 0) - up) <= STEP, JSON.stringify(f));
  t.is(f.lipSyncMs.atTerminal, 120 - (f.audioDelayMs.toTerminal ?? 0));
  t.is(f.lipSyncMs.atSpecialist, 110 - (f.audioDelayMs.toSpecialist ?? 0));
  t.true(Math.abs((f.erleDb ?? 0) - 20) < 1, `ERLE ${f.erleDb} dB`);
  t.true(Math.abs(f.doubleTalkDb ?? 99) < 1, `double talk ${f.doubleTalkDb} dB`);
  t.true((f.voiceDb.atSpecialist ?? -200) > -40);
  // Nothing heard at the specialist: no figures that need it.
  const deaf = soundFigures(room, null, { toTerminal: 120, toSpecialist: 110 }, from, to);
  t.is(deaf.audioDelayMs.toSpecialist, null);
  t.is(deaf.erleDb, null);
  t.is(deaf.lipSyncMs.atSpecialist, null);
  t.is(typeof deaf.lipSyncMs.atTerminal, 'number');
  // No echo went into the microphone (the loudspeaker silent then): no ERLE, rather than a huge one.
  const silentEcho = { ...room, echo: { ...room.echo, rms: room.echo.rms.map(() => 0) } };
  t.is(soundFigures(silentEcho, heard, { toTerminal: 120, toSpecialist: 110 }, from, to).erleDb, null);
  t.true(SCHEDULE.doubleTalk.fromMs > SCHEDULE.roomAlone.toMs);
});
