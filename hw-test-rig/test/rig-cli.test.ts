import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import test from 'ava';
import type { StatusResponse } from '../../firmware/src/api/types.ts';
import { type RigState, readState } from '../src/state-file.ts';
import { TESTDATA, until } from './helpers/harness.ts';
import { RIG_BIN, rigUp } from './helpers/rig-up.ts';

const isRoot = process.getuid?.() === 0;

function rigCommand(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [RIG_BIN, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

async function status(state: RigState): Promise<StatusResponse | undefined> {
  try {
    const res = await fetch(`${new URL(state.kioskUrl).origin}/api/v1/status`, {
      headers: { authorization: `Bearer ${state.apiToken}` },
    });
    return res.ok ? ((await res.json()) as StatusResponse) : undefined;
  } catch {
    return undefined;
  }
}

async function instancesAt(base: string): Promise<number> {
  return ((await (await fetch(`${base}/instances`)).json()) as string[]).length;
}

/** Instances held by the province: after a failover the terminal may stay on B for a while. */
async function delivered(state: RigState): Promise<number> {
  return (await instancesAt(state.orthanc.A)) + (await instancesAt(state.orthanc.B));
}

test.serial(
  'telemed-rig up, then every fault command against the running firmware; systemd-style supervision and watchdog',
  async (t) => {
    // One long walk through every command: longer than ava's two-minute inactivity timeout.
    t.timeout(6 * 60_000);
    const { stateFile, state: s0 } = await rigUp(t, 'rig-cli', [
      '--watchdog-sec',
      '3',
      ...(isRoot ? ['--disk-mb', '48'] : []),
    ]);
    const cmd = (...args: string[]) => rigCommand([args[0]!, '--state-file', stateFile, ...args.slice(1)]);
    const state = () => readState(stateFile);
    t.truthy(s0.firmwarePid);
    await until('cart connected', async () => (await status(s0))?.carts[0]?.state === 'connected', 30_000);

    t.is((await cmd('ecg-send')).code, 0);
    await until('delivered to A', async () => (await instancesAt(s0.orthanc.A)) === 1, 30_000);
    const badWfdb = await cmd('ecg-send', '--wfdb', join(dirname(stateFile), 'missing.hea'));
    t.is(badWfdb.code, 1);
    t.regex(badWfdb.out, /missing\.hea/);
    let total = 1;
    const wfdb = join(TESTDATA, 'wfdb/100.hea');
    if (existsSync(wfdb)) {
      t.is((await cmd('ecg-send', '--wfdb', wfdb, '--start', '30')).code, 0, 'a real recording played');
      total++;
      await until('recording delivered', async () => (await delivered(s0)) === total, 30_000);
    }

    t.regex((await cmd('dc-down', 'A')).out, /data centre A stopped/);
    t.false(state().dataCentres.A.running);
    t.is((await cmd('ecg-send')).code, 0);
    await until('delivered to B', async () => (await instancesAt(s0.orthanc.B)) === 1, 30_000);
    total++;
    t.is((await cmd('dc-up', 'A')).code, 0);
    t.true(state().dataCentres.A.running);

    t.regex(
      (await cmd('dc-fault', 'A', 'http', '503', '--retry-after', '2')).out,
      /HTTP 503 \(Retry-After 2 s\)/,
    );
    t.is(state().dataCentres.A.fault, 'answers HTTP 503 (Retry-After 2 s)');
    t.is((await cmd('dc-fault', 'A', 'none')).code, 0);

    t.is((await cmd('unplug', 'cart-1')).code, 0);
    t.false(state().carts[0]!.plugged);
    await until('cart searching', async () => (await status(s0))?.carts[0]?.state === 'searching', 20_000);
    t.not((await cmd('ecg-send')).code, 0, 'no cable, no transfer');
    t.is((await cmd('plug', 'cart-1')).code, 0);
    await until('cart back', async () => (await status(s0))?.carts[0]?.state === 'connected', 30_000);
    t.regex((await cmd('garbage', 'cart-1', '--bytes', '300')).out, /300 random bytes/);
    t.is((await cmd('ecg-send')).code, 0, 'a transfer after line noise');
    total++;
    await until('delivered after the noise', async () => (await delivered(s0)) === total, 30_000);

    t.not((await cmd('ecg-send', '--cut-after', '2048')).code, 0, 'the cable pulled mid-file');
    await until('the cut record set aside', async () =>
      (await status(s0))?.studiesToday.some((x) => x.reasonCode === 'incomplete-transfer'),
    );
    const noisy = await cmd('ecg-send', '--noise-before', '200', '--bit-error-rate', '0.00005');
    t.is(noisy.code, 0, noisy.out);
    total++;
    await until('delivered through a noisy line', async () => (await delivered(s0)) === total, 30_000);

    // A resident ID card on the simulated reader: the patient is identified (unverified), shown
    // masked on the kiosk; a card whose number fails its check digit is refused with the reason.
    const laid = await cmd(
      'id-card',
      '--id',
      '410203198512030020',
      '--name',
      '李四',
      '--sex',
      'F',
      '--birth',
      '1985-12-03',
    );
    t.regex(laid.out, /ID card of 李四 laid on id-reader-1/);
    await until('patient identified', async () => (await status(s0))?.patient?.name === '李四', 20_000);
    t.like((await status(s0))?.patient, {
      idNumberMasked: '4102**********0020',
      sex: 'F',
      birthDate: '1985-12-03',
      source: 'id-card',
      verification: 'unverified',
    });
    await new Promise((r) => setTimeout(r, 3500)); // the card is lifted after 3 s
    t.is(
      (
        await cmd(
          'id-card',
          '--id',
          '410203198512030021',
          '--name',
          '王五',
          '--sex',
          'M',
          '--birth',
          '1985-12-03',
        )
      ).code,
      0,
    );
    await until('refused card on the kiosk', async () =>
      (await status(s0))?.notices.some((n) => n.code === 'id-card-refused' && /check digit/.test(n.message)),
    );
    t.is((await status(s0))?.patient?.name, '李四', 'a refused card does not replace the patient');
    t.not((await cmd('id-card', '--id', '1', '--name', 'x', '--sex', 'Q', '--birth', '1985-12-03')).code, 0);
    t.is((await cmd('unplug', 'id-reader-1')).code, 0);
    await until(
      'reader searching',
      async () => (await status(s0))?.idReaders[0]?.state === 'searching',
      20_000,
    );
    t.is((await cmd('plug', 'id-reader-1')).code, 0);
    await until('reader back', async () => (await status(s0))?.idReaders[0]?.state === 'connected', 30_000);

    // The board's inputs: the call button reaches the kiosk and the NOC; the UPS input stops
    // captures and flushes; the door.
    t.regex((await cmd('gpio', 'call-button')).out, /call button pressed/);
    await until('call on the kiosk', async () =>
      (await status(s0))?.notices.some((n) => n.code === 'call-for-help'),
    );
    t.regex((await cmd('gpio', 'power-fail')).out, /mains power failed/);
    await until('flushed', async () => (await status(s0))?.panel.power === 'flushed', 20_000);
    t.true(state().gpio.powerFailing);
    t.is((await cmd('gpio', 'power-ok')).code, 0);
    await until('power back', async () => (await status(s0))?.panel.power === 'normal');
    t.is((await cmd('gpio', 'tamper')).code, 0);
    await until('door open', async () => (await status(s0))?.panel.doorOpen === true);
    t.is((await cmd('gpio', 'tamper-closed')).code, 0);
    t.not((await cmd('gpio', 'doorbell')).code, 0);

    // A patient label through the barcode scanner (HID POS for the Chinese name): a study opens
    // for that patient.
    const qr = await cmd('qr', '--pos', 'TMP1|410105197001020018|赵六|M|1970-01-02');
    t.regex(qr.out, /scanned .* on hid-scanner-1 \(HID POS\)/);
    await until(
      'study for the label',
      async () => (await status(s0))?.study?.patient?.name === '赵六',
      20_000,
    );
    t.is(state().hidScanner.mode, 'pos');
    t.regex((await cmd('qr', '410203198512030020')).out, /keyboard wedge/);
    await until(
      'study for the typed number',
      async () => (await status(s0))?.study?.patient?.idNumberMasked === '4102**********0020',
      20_000,
    );
    t.regex((await cmd('unplug', 'hid-scanner-1')).out, /hid-scanner-1 unplugged/);
    t.not((await cmd('qr', 'x')).code, 0);
    t.is((await cmd('plug', 'hid-scanner-1')).code, 0);

    // Two pages through the scanner's feeder, sent as one Encapsulated PDF; the scanner pulled
    // and replugged.
    const scanned = await cmd('scan', '--pages', '2', '--send');
    t.is(scanned.code, 0, scanned.out);
    t.regex(scanned.out, /the document has 2 page\(s\)/);
    t.regex(scanned.out, /document of 2 page\(s\) \(\d+ bytes PDF\) saved as instance \d+/);
    total++;
    await until('the document delivered', async () => (await delivered(s0)) === total, 30_000);
    t.regex((await cmd('unplug', 'scanner')).out, /scanner unplugged/);
    t.false(state().scanner.plugged);
    const noScanner = await cmd('scan', '--pages', '1');
    t.not(noScanner.code, 0);
    t.regex(noScanner.out, /no document scanner found/);
    t.is((await cmd('plug', 'scanner')).code, 0);
    t.regex((await cmd('scanner-fault', 'io-error')).out, /I\/O error/);
    t.regex((await cmd('scan', '--pages', '1')).out, /scan ended with an error: the scan failed/);
    t.is((await cmd('scanner-fault', 'none')).code, 0);
    t.is((await cmd('scan', '--pages', '1')).code, 0);

    const noCamera = await cmd('still');
    t.is(noCamera.code, 1);
    t.regex(noCamera.out, /start the consultation video first/);
    const recording = cmd('record', '--seconds', '4');
    await until(
      'recording running',
      async () => (await status(s0))?.video?.recording.state === 'recording',
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const still = await cmd('still');
    t.regex(still.out, /still saved as instance \d+/);
    total++;
    const recorded = await recording;
    t.is(recorded.code, 0, recorded.out);
    t.regex(state().srt.uri, /^srt:\/\/127\.0\.0\.1:\d+$/);
    await until(
      'live video at the rig’s SRT listener',
      () => existsSync(state().srt.receivedFile) && statSync(state().srt.receivedFile).size > 10_000,
      10_000,
    );
    t.regex(recorded.out, /1 segment\(s\) saved/);
    total++;
    await until('the recording delivered', async () => (await delivered(s0)) === total, 30_000);

    // The camera pulled mid-recording: the recording ends cleanly (the command says why), the
    // terminal waits for the camera, and when it is back the recording goes on for the time left.
    const cut = cmd('record', '--seconds', '4');
    await until('recording', async () => (await status(s0))?.video?.recording.state === 'recording', 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    t.regex((await cmd('camera-unplug')).out, /camera unplugged/);
    t.false(state().camera.plugged);
    const cutResult = await cut;
    t.not(cutResult.code, 0);
    t.regex(cutResult.out, /camera was disconnected/);
    await until('camera waiting', async () => (await status(s0))?.video?.camera.state === 'waiting');
    t.regex((await cmd('camera-plug')).out, /camera plugged in/);
    t.true(state().camera.plugged);
    await until('recording resumed', async () => (await status(s0))?.video?.recording.state === 'recording');
    await until(
      'resumed recording over, camera off',
      async () => {
        const video = (await status(s0))?.video;
        return video?.recording.state === 'idle' && video.camera.state === 'off';
      },
      30_000,
    );
    await until('everything delivered', async () => (await status(s0))?.queueDepth === 0, 30_000);
    total = await delivered(s0);
    t.is((await status(s0))?.video?.encoder, 'vpuenc_h264', 'the board’s (simulated) hardware encoder');
    t.regex((await cmd('encoder-fault', 'stream')).out, /fail mid-stream/);
    t.is(state().hwEncoder.fault, 'stream');
    t.regex((await cmd('encoder-fault', 'none')).out, /healthy again/);
    t.is(state().hwEncoder.fault, null);
    t.not((await cmd('encoder-fault', 'sometimes')).code, 0);

    t.regex((await cmd('broker-down')).out, /broker stopped/);
    t.false(state().broker.running);
    t.is((await cmd('broker-up')).code, 0);

    if (isRoot) {
      // The terminal makes room by removing the local copies of what it delivered (oldest first);
      // filled again once none are left, it refuses new records.
      t.regex((await cmd('disk-full')).out, /below its reserve/);
      await until(
        'delivered copies removed',
        async () => (await status(s0))?.studiesToday.every((s) => s.state !== 'delivered'),
        30_000,
      );
      t.regex((await cmd('disk-full')).out, /below its reserve/);
      t.not((await cmd('ecg-send')).code, 0, 'the terminal refuses the record when the disk is full');
      await until('capture refused on the kiosk', async () =>
        (await status(s0))?.notices.some((n) => n.code === 'capture-refused'),
      );
      t.is((await cmd('disk-ok')).code, 0);
      t.is((await cmd('ecg-send')).code, 0);
      total++;
      await until('delivered after disk-ok', async () => (await delivered(s0)) === total, 30_000);
    } else {
      t.log('not root: the --disk-mb part is skipped (mounting a small file system needs root)');
    }

    const firstPid = state().firmwarePid;
    t.regex((await cmd('kill-firmware')).out, /SIGKILL sent/);
    // Restarted: counted, running, under a new pid (read together from one state: a pid read
    // while the kill was still under way let this pass early once, with the count still 0).
    const s1 = await until(
      'restarted',
      () => {
        const s = state();
        return s.firmware.restarts >= 1 && s.firmware.state === 'running' && s.firmwarePid !== firstPid && s;
      },
      30_000,
    );
    t.is(s1.firmware.restarts, 1);
    t.is(s1.firmware.lastExit, 'signal SIGKILL');
    await until('API back', async () => (await status(s1))?.carts[0]?.state === 'connected', 30_000);

    // A hung firmware stops feeding the watchdog; the supervisor aborts and restarts it.
    t.is((await cmd('kill-firmware', '--signal', 'SIGSTOP')).code, 0);
    const s2 = await until(
      'aborted by the watchdog and restarted',
      () => state().firmware.watchdogAborts === 1 && state().firmware.state === 'running' && state(),
      30_000,
    );
    t.not(s2.firmwarePid, s1.firmwarePid);
    t.is(s2.firmware.restarts, 2);

    if (isRoot) {
      // A power cut: the firmware dies with whatever was not on the disk; it boots on what was.
      const cut = await cmd('power-cut');
      t.regex(cut.out, /power cut: .*the terminal boots again/);
      const s3 = await until(
        'booted after the power cut',
        () => state().firmware.state === 'running' && state().firmwarePid !== s2.firmwarePid && state(),
        30_000,
      );
      t.is(s3.disk?.powerCuts, 1);
      const after = await until('API back after the cut', async () => await status(s3), 30_000);
      t.is(after.storeRecovery?.integrity, 'ok');
      t.is(after.storeRecovery?.missingFiles, 0);
      t.is((await cmd('ecg-send')).code, 0);
      total++;
      await until('delivered after the power cut', async () => (await delivered(s0)) === total, 30_000);
    }

    const bad = await cmd('dc-down', 'C');
    t.is(bad.code, 64);
    t.regex(bad.out, /name the data centre: A or B \(got C\)/);
    const missing = await cmd('unplug', 'cart-9');
    t.is(missing.code, 1);
    t.regex(missing.out, /no device cart-9; the rig has: cart-1/);
    if (!isRoot) t.regex((await cmd('disk-full')).out, /--disk-mb/);
  },
);
