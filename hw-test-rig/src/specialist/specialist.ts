import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { LevelTrack } from '../call-measure/analysis.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Debian's libjs-janus-gateway: the Janus project's own JavaScript API, as a province page uses it. */
const JANUS_JS = '/usr/share/javascript/janus-gateway/janus.js';

export interface SpecialistOptions {
  /** The media server's WebSocket API (state file `call.janus.<dc>.ws`). */
  ws: string;
  room: number;
  display?: string;
  /**
   * Known content for the fake camera (Y4M); Chromium's own pattern otherwise. The time mark is
   * drawn over it. What the specialist says is the rig's schedule (call-measure/schedule.ts).
   */
  videoFile?: string;
}

/** What the specialist's browser decoded of one feed in the room (its own WebRTC statistics). */
export interface FeedStats {
  display: string | null;
  video: {
    framesDecoded: number;
    width: number;
    height: number;
    fps: number;
    packetsLost: number;
    freezeCount: number;
    jitterBufferDelayS: number | null;
    /** Median one-way delay of the time marks read from the frames shown (null: none read). */
    latencyMs: number | null;
    marksRead: number;
    /**
     * How colourful the picture shown now is: the mean over its pixels of max(R,G,B) − min(R,G,B)
     * (a grey picture near 0; the rig's document camera's colour bars far above).
     */
    colourfulness: number | null;
  } | null;
  audio: { seconds: number; level: number; packetsLost: number } | null;
}

export interface SpecialistState {
  phase: 'starting' | 'connected' | 'joined' | 'configured' | 'publishing' | 'failed' | 'left';
  error: string | null;
  id: number | null;
  /** Publisher id → display name: everyone else in the room. */
  publishers: Record<string, string>;
}

/**
 * The province's specialist: headless Chromium with fake media devices, in the consultation room
 * through a small page that uses Janus's JavaScript API. The page is served from loopback by this
 * process; the browser's WebRTC stack is Chromium's own, as a specialist's would be.
 */
export class Specialist {
  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
    private readonly server: Server,
    readonly pageErrors: string[],
  ) {}

  static async join(options: SpecialistOptions): Promise<Specialist> {
    const server = await servePage();
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      // A hidden page would be throttled; the specialist is watching.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--autoplay-policy=no-user-gesture-required',
      ...(options.videoFile ? [`--use-file-for-fake-video-capture=${options.videoFile}`] : []),
    ];
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const port = (server.address() as AddressInfo).port;
    const query = new URLSearchParams({
      ws: options.ws,
      room: String(options.room),
      display: options.display ?? 'specialist',
    });
    await page.goto(`http://127.0.0.1:${port}/specialist.html?${query}`);
    const specialist = new Specialist(browser, page, server, errors);
    try {
      await specialist.waitFor('publishing', 20_000);
    } catch (error) {
      await specialist.close();
      throw error;
    }
    return specialist;
  }

  state(): Promise<SpecialistState> {
    return this.page.evaluate(() => (window as unknown as { specialist: SpecialistState }).specialist);
  }

  /** Per feed id: frames and sound the browser decoded so far. */
  stats(): Promise<Record<string, FeedStats>> {
    return this.page.evaluate(() =>
      (window as unknown as { specialistStats: () => Promise<Record<string, FeedStats>> }).specialistStats(),
    );
  }

  /** Per feed id: the level of what that feed said, as this browser heard it (wall-clock bins). */
  levels(): Promise<Record<string, LevelTrack & { display: string | null }>> {
    return this.page.evaluate(() =>
      (
        window as unknown as {
          specialistLevels: () => Record<string, LevelTrack & { display: string | null }>;
        }
      ).specialistLevels(),
    );
  }

  /** Resolves when the page reached `phase`; rejects with the page's error if it failed. */
  async waitFor(phase: SpecialistState['phase'], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.state();
      if (s.phase === phase) return;
      if (s.phase === 'failed') throw new Error(`the specialist could not join: ${s.error}`);
      if (Date.now() > deadline)
        throw new Error(`the specialist did not reach ${phase} in ${timeoutMs} ms (now ${s.phase})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async leave(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as { specialistLeave: () => void }).specialistLeave());
    await this.close();
  }

  async close(): Promise<void> {
    await this.browser.close();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/**
 * The rig's measuring code (call-measure/) for the browser: one script defining `CallMeasure`, so
 * the page draws and reads time marks with the same functions the rig camera and the rig use.
 */
function callMeasureScript(): string {
  const built = buildSync({
    entryPoints: [join(HERE, '..', 'call-measure', 'browser.ts')],
    bundle: true,
    format: 'iife',
    globalName: 'CallMeasure',
    target: 'es2022',
    write: false,
  });
  return built.outputFiles[0]?.text ?? '';
}

/** The page, its scripts and janus.js on a loopback port of their own. */
async function servePage(): Promise<Server> {
  const js = 'text/javascript; charset=utf-8';
  const files: Record<string, { body: () => string | Buffer; type: string }> = {
    '/specialist.html': {
      body: () => readFileSync(join(HERE, 'specialist.html')),
      type: 'text/html; charset=utf-8',
    },
    '/specialist.js': { body: () => readFileSync(join(HERE, 'specialist.js')), type: js },
    '/janus.js': { body: () => readFileSync(JANUS_JS), type: js },
    '/call-measure.js': { body: callMeasureScript, type: js },
  };
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type }).end(file.body());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
