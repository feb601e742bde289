import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { stowInstance } from '../../firmware/src/uplink/stow-client.ts';
import { buildKiosk } from '../../kiosk-ui/build.ts';
import { CartSimulator } from '../src/cart/cart-simulator.ts';
import { synthEcgRecord } from '../src/cart/synth-ecg.ts';
import { launchChromium } from './helpers/browser.ts';
import { world } from './helpers/harness.ts';

test.serial(
  'the kiosk status page in Chromium: Chinese first, live study states, data centres, cart, English toggle',
  async (t) => {
    const kioskDir = await buildKiosk(mkdtempSync(join(tmpdir(), 'kiosk-')));
    // Holding the upload open makes "sending" observable for as long as the test needs it.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const w = await world({
      kioskDir,
      media: true,
      deps: {
        stow: async (...args: Parameters<typeof stowInstance>) => {
          await gate;
          return stowInstance(...args);
        },
      },
    });
    const browser = await launchChromium();
    t.teardown(async () => {
      release();
      await browser.close();
      await w.stop();
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(w.rig.kioskUrl);

    await page.locator('h1', { hasText: '远程会诊终端' }).waitFor();
    await page
      .locator('[data-cart="cart-1"][data-state="connected"]', { hasText: '已连接，等待心电图' })
      .waitFor();
    t.is(await page.locator('#dcs [data-dc]').count(), 2);
    await page.locator('#dcs [data-dc="A"]', { hasText: '主用' }).waitFor();
    await page.locator('#studies', { hasText: '今天还没有检查' }).waitFor();
    await page.locator('#noc[data-state="online"]', { hasText: '省监控中心' }).waitFor();
    await page.locator('#video[data-state="ready"]', { hasText: '软件编码 x264enc' }).waitFor();
    t.is(await page.getAttribute('html', 'lang'), 'zh-CN');

    // The patient, from the ID card laid on the reader: name, sex, birth date, masked number.
    await page.locator('#patient', { hasText: '请将患者身份证放在阅读器上' }).waitFor();
    await page
      .locator('#patient [data-reader="id-reader-1"][data-state="connected"]', {
        hasText: '身份证阅读器就绪',
      })
      .waitFor();
    w.rig.idReader.present(
      {
        name: '李四',
        sexCode: '2',
        ethnicityCode: '01',
        birthDate: '19851203',
        address: '河南省开封市测试路1号',
        idNumber: '410203198512030020',
        issuingOffice: '开封市公安局',
        validFrom: '20150101',
        validTo: '20350101',
      },
      2000,
    );
    await page
      .locator('#patient-identity[data-verification="unverified"]', {
        hasText: '李四 · 女 · 1985-12-03 · 4102**********0020 · 未核验',
      })
      .waitFor();

    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    await cart.send([{ name: 'ECG1.SCP', bytes: synthEcgRecord({ seed: 11 }) }]);
    const row = page.locator('#studies tbody tr[data-instance]').first();
    await row.locator('.badge', { hasText: '发送中' }).waitFor();
    await page.locator('#queue', { hasText: '1 份检查等待发送' }).waitFor();

    release();
    await row.locator('.badge', { hasText: '已送达' }).waitFor();
    await row.locator('.detail', { hasText: '已存入数据中心 DC-A' }).waitFor();
    await page.locator('#dcs [data-dc="A"][data-state="up"]', { hasText: '已送达 1 份' }).waitFor();
    await page.locator('#queue', { hasText: '没有待发送的检查' }).waitFor();

    const bad = synthEcgRecord({ seed: 12 });
    bad[0]! ^= 0xff;
    await cart.send([{ name: 'ECG2.SCP', bytes: bad }]);
    await page.locator('#studies tbody tr[data-display="attention"] .badge', { hasText: '需处理' }).waitFor();
    await page
      .locator('#studies tr[data-display="attention"] .detail', { hasText: '无法读取心电图机发来的记录' })
      .waitFor();
    await page.locator('#notices [data-code="quarantined"]', { hasText: '已隔离保存' }).waitFor();

    // Consultation video from the kiosk: the camera's small preview branch shows in the page, a
    // photo is taken from it, and the camera goes off again.
    await page.locator('#consultation[data-camera="off"]', { hasText: '摄像头未开启' }).waitFor();
    await page.click('#video-start');
    await page
      .locator('#consultation[data-camera="live"]', { hasText: '正在直播（rig test camera）' })
      .waitFor();
    await page.locator('#microphone', { hasText: '声音：rig test microphone' }).waitFor();
    await page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>('#preview');
        return img?.complete === true && img.naturalWidth === 320 && img.naturalHeight === 180;
      },
      null,
      { timeout: 15_000 },
    );
    await page.screenshot({ path: join(w.dir, 'kiosk-video.png'), fullPage: true });
    await page.click('#still');
    await page.locator('#studies tbody tr', { hasText: '照片' }).waitFor();
    await page.click('#video-stop');
    await page.locator('#consultation[data-camera="off"]').waitFor();
    t.false(await page.locator('#preview').evaluate((img) => img.hasAttribute('src')), 'no stale frame');

    w.rig.brokerLink.up = false;
    await page.locator('#noc[data-state="offline"]', { hasText: '运行状态暂存本机' }).waitFor();
    await w.rig.cables[0]!.unplug();
    await page.locator('[data-cart="cart-1"][data-state="searching"]', { hasText: '未连接' }).waitFor();

    await page.screenshot({ path: join(w.dir, 'kiosk-zh.png'), fullPage: true });
    await page.click('#lang');
    await page.locator('h1', { hasText: 'Telemedicine terminal' }).waitFor();
    t.is(await page.getAttribute('html', 'lang'), 'en');
    await page.locator('#studies .badge', { hasText: 'Delivered' }).first().waitFor();
    await page.locator('#studies .badge', { hasText: 'Needs attention' }).waitFor();
    await page.screenshot({ path: join(w.dir, 'kiosk-en.png'), fullPage: true });
    t.log(`screenshots: ${w.dir}/kiosk-zh.png, kiosk-en.png, kiosk-video.png`);

    // The choice survives a reload (a kiosk restarts its renderer without asking staff again).
    await page.reload();
    await page.locator('h1', { hasText: 'Telemedicine terminal' }).waitFor();
    t.deepEqual(pageErrors, []);
    t.is(w.daemon.status().studiesToday.length, 3);
  },
);

test.serial('the kiosk without its token says how to recover, and the API refuses it', async (t) => {
  const kioskDir = await buildKiosk(mkdtempSync(join(tmpdir(), 'kiosk-')));
  const w = await world({ kioskDir });
  const browser = await launchChromium();
  t.teardown(async () => {
    await browser.close();
    await w.stop();
  });
  const page = await browser.newPage({ locale: 'zh-CN' });
  const base = w.rig.kioskUrl.replace(/#.*$/, '');
  await page.goto(base);
  await page.locator('[role="alert"]', { hasText: '缺少访问令牌' }).waitFor();
  const refused = await page.evaluate(async () => (await fetch('/api/v1/status')).status);
  t.is(refused, 401);
});
