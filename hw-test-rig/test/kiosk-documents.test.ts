import test from 'ava';
import { kioskWorld } from './helpers/browser.ts';
import { until } from './helpers/harness.ts';

test.serial(
  'the kiosk scanner card in Chromium: scan from the feeder with progress, previews, delete, move up, send',
  async (t) => {
    const { w, page, pageErrors } = await kioskWorld(t);
    await page
      .locator('#scanner[data-state="ready"]', { hasText: '扫描仪就绪（Noname frontend-tester）' })
      .waitFor();
    await page.locator('#scan-job', { hasText: '还没有扫描页' }).waitFor();
    t.true(await page.locator('#document-send').isDisabled(), 'nothing to send yet');

    // The feeder holds ten sheets: the card shows the page being scanned while it runs.
    // Every state the card shows is recorded as it is rendered (the test backend scans ten pages in
    // well under a second: polling the page could miss the progress).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        const job = document.querySelector('#scan-job')?.textContent;
        if (job) seen.push(job);
      }).observe(document.body, { childList: true, subtree: true });
    });
    await page.click('#scan-feeder');
    await page
      .locator('#scanner[data-job="idle"] #scan-job', { hasText: '已扫描 10 页' })
      .waitFor({ timeout: 60_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    t.true(
      seen.some((text) => /正在扫描第 \d+ 页… \d+%/.test(text)),
      `progress shown while scanning (saw: ${[...new Set(seen)].join(' | ')})`,
    );
    await until('previews shown', () =>
      page
        .locator('#scan-pages img')
        .evaluateAll(
          (imgs) => imgs.length === 10 && imgs.every((i) => (i as HTMLImageElement).naturalWidth > 0),
        ),
    );
    const ids = () =>
      page.locator('#scan-pages li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-page')));
    const first = await ids();
    await page.click('#remove-2');
    await page.locator('#scan-job', { hasText: '已扫描 9 页' }).waitFor();
    await page.click('#earlier-2');
    await until('reordered', async () => {
      const now = await ids();
      return now[0] === first[2] && now[1] === first[0];
    });
    await page.click('#document-send');
    await page.locator('#scan-job', { hasText: '还没有扫描页' }).waitFor();
    await page.locator('#studies tbody tr', { hasText: '扫描文件' }).waitFor();
    await page.locator('#studies tbody tr', { hasText: '已送达' }).waitFor({ timeout: 30_000 });

    // No scanner: the card says what to do.
    w.rig.scanner.unplug();
    await page.click('#scan-feeder');
    await page.locator('#document-error', { hasText: 'no document scanner found' }).waitFor();
    await page
      .locator('#scanner[data-state="absent"]', { hasText: '未找到扫描仪：请用USB线连接扫描仪并打开电源' })
      .waitFor();
    t.deepEqual(pageErrors, []);
  },
);

test.serial(
  'the kiosk patient card in Chromium: a scanned ID number opens the study, manual entry with its errors, patient leaves',
  async (t) => {
    const { w, page } = await kioskWorld(t);
    await page
      .locator('[data-hid-scanner="hid-scanner-1"][data-state="connected"]', { hasText: '扫码枪就绪' })
      .waitFor();
    t.true(await page.locator('#study-close').isDisabled(), 'no study open yet');
    await until('scan taken', () => w.rig.hidScanner.scan('410203198512030020'));
    await page.locator('#patient-identity[data-source="qr"]', { hasText: '姓名未录入' }).waitFor();

    // Typing survives the page being rebuilt by status pushes (a scan arrives meanwhile).
    await page.fill('#entry-id', '410105197001020018');
    await page.locator('#entry-name').pressSequentially('赵');
    await until('another scan', () => w.rig.hidScanner.scan('410203198512030020'));
    await page.locator('#entry-name').pressSequentially('六');
    t.is(await page.inputValue('#entry-name'), '赵六');
    await page.click('#entry-submit');
    await page.locator('#patient-identity[data-source="manual"]', { hasText: '赵六' }).waitFor();
    await page.locator('#patient-identity', { hasText: '4101**********0018' }).waitFor();
    t.is(await page.inputValue('#entry-id'), '', 'the form is cleared once the patient is entered');

    await page.fill('#entry-id', '410105197001020019');
    await page.fill('#entry-name', '钱七');
    await page.click('#entry-submit');
    await page.locator('#patient-error', { hasText: 'check digit' }).waitFor();
    // A tap while a status push arrives: the button under the finger is not replaced mid-tap.
    await new Promise((r) => setTimeout(r, 500)); // the refusal's own push has landed
    const button = (await page.$('#study-close'))!;
    await button.dispatchEvent('pointerdown');
    await until('a push while the finger is down', () => w.rig.hidScanner.scan('410203198512030020'));
    await new Promise((r) => setTimeout(r, 400));
    t.true(await button.evaluate((b) => b.isConnected), 'the page was not rebuilt under the finger');
    await button.dispatchEvent('pointerup');
    await button.dispatchEvent('click');
    await page.locator('#patient .muted', { hasText: '请将患者身份证放在阅读器上' }).waitFor();
  },
);
