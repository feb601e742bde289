import test, { type ExecutionContext } from 'ava';
import { testWhen } from '../../device-drivers/test/helpers/test-when.ts';
import { RIG_ROOM } from '../src/services/janus.ts';
import { KioskCompositor } from '../src/services/kiosk-compositor.ts';
import { Specialist } from '../src/specialist/specialist.ts';
import { kioskWorld } from './helpers/browser.ts';
import { localApi, until } from './helpers/harness.ts';

test.serial(
  'the kiosk: one press of 呼叫值班专家 and the specialist appears; the specialist sees the terminal; the call survives a reload; 结束通话 ends it',
  async (t) => {
    t.timeout(180_000);
    const { w, page, pageErrors } = await kioskWorld(t, { media: true, call: true });
    await until('encoder ready', () => w.daemon.media?.encoders.status().state === 'ready', 30_000);
    const specialist = await Specialist.join({ ws: w.rig.janus!.A.ws, room: RIG_ROOM, display: '李医生' });
    t.teardown(() => specialist.close().catch(() => {}));

    await page.locator('#call-start').click();
    await page.locator('#call[data-state="in-call"][data-remote="yes"]').waitFor({ timeout: 60_000 });
    t.regex((await page.locator('#call-state').textContent()) ?? '', /正在与 李医生 通话（数据中心 A）/);
    // The specialist's picture on the kiosk: frames arrive and are drawn.
    await farEndDrawnByKiosk(page);
    const size = await page.evaluate(() => {
      const img = document.getElementById('far-end') as HTMLImageElement;
      return [img.naturalWidth, img.naturalHeight];
    });
    t.deepEqual(size, [640, 480], "Chromium's fake camera, as decoded on the terminal");
    await page.locator('#call-received').waitFor({ timeout: 10_000 });
    await until(
      "the terminal's picture at the specialist",
      async () =>
        Object.values(await specialist.stats()).some(
          (f) => f.display === w.config.device.id && (f.video?.framesDecoded ?? 0) > 30,
        ),
      30_000,
    );
    await page.screenshot({ path: `${w.dir}/kiosk-call.png` });
    t.log(`screenshot: ${w.dir}/kiosk-call.png`);
    // The renderer restarts (a crash, an update of the kiosk): the call lives in the daemon.
    await page.reload();
    await page.locator('#call[data-state="in-call"][data-remote="yes"]').waitFor({ timeout: 20_000 });

    // 关闭摄像头: the specialist gets the placeholder, and the card says so; 打开摄像头 undoes it.
    await page.locator('#call-camera').click();
    await page.locator('#call-picture[data-picture="camera-off"]').waitFor({ timeout: 20_000 });
    t.regex((await page.locator('#call-picture').textContent()) ?? '', /摄像头已关闭/);
    t.is(await page.locator('#call-camera').getAttribute('aria-pressed'), 'true');
    t.is(await page.locator('#call-camera').textContent(), '打开摄像头');
    await page.locator('#call-camera').click();
    await page.locator('#call-picture').waitFor({ state: 'detached', timeout: 20_000 });

    await page.locator('#call-end').click();
    await page.locator('#call[data-state="idle"]').waitFor({ timeout: 20_000 });
    t.false(await page.locator('#far-end').isVisible());
    t.deepEqual(pageErrors, []);
  },
);

testWhen(
  KioskCompositor.available(),
  'the kiosk compositor needs cage and xwayland, as root (bash .ci/setup)',
  true,
)(
  "the board's way: the specialist drawn by the overlay sink into the kiosk's compositor; the kiosk leaves the place clear and fetches no frames",
  async (t) => {
    t.timeout(180_000);
    const rectangle = { x: 24, y: 120, width: 640, height: 480 };
    const { w, page, pageErrors } = await kioskWorld(t, { media: true, call: true, overlay: rectangle });
    const frames: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/call/far-end.jpg')) frames.push(r.url());
    });
    await until('encoder ready', () => w.daemon.media?.encoders.status().state === 'ready', 30_000);
    const specialist = await Specialist.join({ ws: w.rig.janus!.A.ws, room: RIG_ROOM, display: '李医生' });
    t.teardown(() => specialist.close().catch(() => {}));

    await page.locator('#call-start').click();
    await page.locator('#call[data-state="in-call"][data-remote="yes"]').waitFor({ timeout: 60_000 });
    const hole = page.locator('#far-end-overlay');
    await hole.waitFor({ timeout: 10_000 });
    t.deepEqual(await hole.boundingBox(), rectangle, 'the place the overlay plane shows through');
    t.is(await hole.getAttribute('aria-label'), '专家画面由显示屏直接显示');
    t.is(await page.locator('#far-end').count(), 0);
    // The overlay sink itself shows the specialist's frames (its own count), and the status's
    // count goes on beside it.
    const worker = w.daemon.media!.worker;
    const shown = async () =>
      Number(/rendered=\(guint64\)(\d+)/.exec(await worker.stats('call-in', 'display-sink'))?.[1] ?? 0);
    await until('60 frames drawn by the overlay sink', async () => (await shown()) >= 60, 30_000, {
      errorsMeanNotYet: true,
    });
    const { call } = await localApi(w).status();
    t.like(call?.farEndDisplay, { kind: 'overlay', rectangle });
    t.true((call?.received?.framesRendered ?? 0) > 0);
    t.deepEqual(frames, [], 'no frame fetched for the kiosk to draw');
    await page.locator('#call-end').click();
    await page.locator('#call[data-state="idle"]').waitFor({ timeout: 20_000 });
    t.deepEqual(pageErrors, []);
  },
);

test.serial(
  "the board's overlay sink cannot start (no compositor): the call goes on, the kiosk draws the specialist and says why",
  async (t) => {
    const { w, page, pageErrors } = await overlayCall(t, 'no-display');
    await page.locator('#call[data-state="in-call"][data-remote="yes"]').waitFor({ timeout: 60_000 });
    await farEndDrawnByKiosk(page);
    t.is(await page.locator('#far-end-overlay').count(), 0, 'no hole left for an overlay that is not there');
    t.regex((await page.locator('#call-display').textContent()) ?? '', /显示屏叠加层出现故障/);
    const { call } = await localApi(w).status();
    t.is(call?.farEndDisplay.kind, 'kiosk');
    t.regex(overlayFailure(call?.farEndDisplay), /display-sink/, 'the failing element named');
    t.is(call?.counters.subscriptions, 1, 'received at the first subscription, without the overlay');
    await page.locator('#call-end').click();
    await page.locator('#call[data-state="idle"]').waitFor({ timeout: 20_000 });
    t.deepEqual(pageErrors, []);
  },
);

testWhen(
  KioskCompositor.available(),
  'the kiosk compositor needs cage and xwayland, as root (bash .ci/setup)',
  true,
)(
  "the board's display fails mid-call: the specialist is received again at once and drawn by the kiosk",
  async (t) => {
    const { w, page, pageErrors } = await overlayCall(t, { afterFrames: 90 });
    await page.locator('#far-end-overlay').waitFor({ timeout: 60_000 });
    // After 90 frames the overlay's element fails; call-in is built again without it.
    await page.locator('#call-display').waitFor({ timeout: 30_000 });
    await farEndDrawnByKiosk(page);
    const { call } = await localApi(w).status();
    t.like(call, { state: 'in-call', farEndDisplay: { kind: 'kiosk' } });
    t.regex(overlayFailure(call?.farEndDisplay), /display-fault/);
    t.is(call?.counters.subscriptions, 2, 'subscribed once more, not rejoined');
    t.is(call?.counters.reconnects, 0);
    await until(
      'the specialist heard and seen again',
      async () => ((await localApi(w).status()).call?.received?.framesRendered ?? 0) > 30,
      20_000,
    );
    await page.locator('#call-end').click();
    await page.locator('#call[data-state="idle"]').waitFor({ timeout: 20_000 });
    t.deepEqual(pageErrors, []);
  },
);

/**
 * A kiosk whose specialist is drawn by an overlay that fails (`fault`), the specialist in the room,
 * and 呼叫值班专家 pressed.
 */
async function overlayCall(
  t: ExecutionContext,
  fault: NonNullable<Parameters<typeof kioskWorld>[1]>['overlayFault'],
) {
  t.timeout(180_000);
  const overlay = { x: 24, y: 120, width: 640, height: 480 };
  const world = await kioskWorld(t, { media: true, call: true, overlay, overlayFault: fault });
  const { w, page } = world;
  await until('encoder ready', () => w.daemon.media?.encoders.status().state === 'ready', 30_000);
  const specialist = await Specialist.join({ ws: w.rig.janus!.A.ws, room: RIG_ROOM, display: '李医生' });
  t.teardown(() => specialist.close().catch(() => {}));
  await page.locator('#call-start').click();
  return world;
}

/** The specialist's frames drawn by the kiosk itself (fetched from the local API). */
async function farEndDrawnByKiosk(page: import('playwright-core').Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const img = document.getElementById('far-end') as HTMLImageElement | null;
      return img?.complete === true && img.naturalWidth > 0;
    },
    undefined,
    { timeout: 30_000 },
  );
}

function overlayFailure(display: { kind: string; overlayFailure?: string } | undefined): string {
  return display?.overlayFailure ?? '';
}
