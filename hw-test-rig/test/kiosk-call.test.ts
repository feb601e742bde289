import test from 'ava';
import { RIG_ROOM } from '../src/services/janus.ts';
import { Specialist } from '../src/specialist/specialist.ts';
import { kioskWorld } from './helpers/browser.ts';
import { until } from './helpers/harness.ts';

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
    await page.waitForFunction(
      () => {
        const img = document.getElementById('far-end') as HTMLImageElement | null;
        return img?.complete === true && img.naturalWidth > 0;
      },
      undefined,
      { timeout: 30_000 },
    );
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
