import type { Logger } from 'pino';
import {
  ButtonDecoder,
  type GpioLine,
  type GpioOpener,
  GpioRelayOpener,
  type LedPattern,
  ledLevel,
  OnoffGpioOpener,
  SwitchDecoder,
} from '#device-drivers';
import type { Config } from '../config/schema.ts';
import type { EventBus } from '../events.ts';
import type { Service } from '../service.ts';

type LineName = 'callButton' | 'statusLed' | 'tamper' | 'powerFail';
export type LineState = 'absent' | 'ready' | 'failed';

export interface GpioPanelOptions {
  config: Config['gpio'];
  opener: GpioOpener;
  bus: EventBus;
  log: Logger;
  /**
   * What the LED should show now, given whether a line of the panel failed (asked twice a second:
   * it looks at the store and the uplink). gpio/led-policy.ts decides.
   */
  led: { pattern(gpioLinesFailed: boolean): LedPattern };
  now?: () => number;
}

/**
 * The front panel and cabinet: the call-for-help button (debounced; a long press cancels the
 * call), the status LED (a pattern per state), the tamper / door switch and the UPS's power-fail
 * input. Each line is optional; one that cannot be opened is reported and the rest work.
 *
 * INVARIANTS: each input has one decoder and at most one pending timer; after `stop()` no timer
 * is left and no event is emitted.
 */
export class GpioPanel implements Service {
  readonly name = 'panel';
  readonly lines = new Map<LineName, { state: LineState; line: number | null; problem: string | null }>();
  readonly counters = { presses: 0, longPresses: 0, tamperOpened: 0, powerFails: 0, ioErrors: 0 };
  /** Tamper switch and UPS input as last settled (null before the first reading). */
  doorOpen: boolean | null = null;
  powerFailing: boolean | null = null;
  private readonly open: GpioLine[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private ledTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: GpioPanelOptions) {
    this.now = options.now ?? (() => performance.now());
    for (const name of ['callButton', 'statusLed', 'tamper', 'powerFail'] as const)
      this.lines.set(name, { state: 'absent', line: options.config[name]?.line ?? null, problem: null });
  }

  async start(): Promise<void> {
    const c = this.options.config;
    const button = c.callButton ? await this.openLine('callButton', 'in') : null;
    if (button) this.watchButton(button);
    const led = c.statusLed ? await this.openLine('statusLed', 'out') : null;
    if (led) this.driveLed(led);
    const tamper = c.tamper ? await this.openLine('tamper', 'in') : null;
    if (tamper)
      await this.watchSwitch(tamper, (open) => {
        this.doorOpen = open === 1;
        if (open) this.counters.tamperOpened++;
        this.options.bus.emit({ type: 'tamper', state: open ? 'opened' : 'closed' });
      });
    const power = c.powerFail ? await this.openLine('powerFail', 'in') : null;
    if (power)
      await this.watchSwitch(power, (failing) => {
        const before = this.powerFailing;
        this.powerFailing = failing === 1;
        if (failing) {
          this.counters.powerFails++;
          this.options.bus.emit({ type: 'power-input', failing: true });
        } else if (before) this.options.bus.emit({ type: 'power-input', failing: false });
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.ledTimer) clearInterval(this.ledTimer);
    await Promise.all(this.open.map((l) => l.close()));
  }

  private async openLine(name: LineName, direction: 'in' | 'out'): Promise<GpioLine | null> {
    const spec = this.options.config[name];
    if (!spec) return null;
    try {
      const line = await this.options.opener.open({ line: spec.line, direction, activeLow: spec.activeLow });
      this.open.push(line);
      this.lines.set(name, { state: 'ready', line: spec.line, problem: null });
      return line;
    } catch (error) {
      const problem = (error as Error).message;
      this.lines.set(name, { state: 'failed', line: spec.line, problem });
      this.options.log.error({ line: spec.line, name, err: problem }, 'GPIO line unavailable');
      this.options.bus.emit({ type: 'gpio-problem', line: name, message: problem });
      return null;
    }
  }

  /** One timer per input: runs `fn` at `atMs` (on the panel's clock), replacing the previous one. */
  private schedule(slot: { timer: NodeJS.Timeout | null }, atMs: number | null, fn: () => void): void {
    if (slot.timer) {
      clearTimeout(slot.timer);
      this.timers.delete(slot.timer);
      slot.timer = null;
    }
    if (atMs === null || this.stopped) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        slot.timer = null;
        if (!this.stopped) fn();
      },
      Math.max(0, atMs - this.now()),
    );
    slot.timer = timer;
    this.timers.add(timer);
  }

  private watchButton(line: GpioLine): void {
    const decoder = new ButtonDecoder({
      debounceMs: this.options.config.debounceMs,
      longPressMs: this.options.config.longPressMs,
    });
    const slot = { timer: null as NodeJS.Timeout | null };
    const run = (result: ReturnType<ButtonDecoder['tick']>) => {
      for (const event of result.events) {
        if (event.kind === 'press') this.counters.presses++;
        else this.counters.longPresses++;
        this.options.log.info({ kind: event.kind }, 'call button');
        this.options.bus.emit({ type: 'call-button', kind: event.kind === 'press' ? 'call' : 'cancel' });
      }
      this.schedule(slot, result.tickAt, () => run(decoder.tick(this.now())));
    };
    line.watch((value, at) => run(decoder.edge(value, at)));
  }

  private async watchSwitch(line: GpioLine, changed: (value: 0 | 1) => void): Promise<void> {
    const decoder = new SwitchDecoder(this.options.config.debounceMs);
    const slot = { timer: null as NodeJS.Timeout | null };
    const run = (result: ReturnType<SwitchDecoder['tick']>) => {
      if (result.changed !== null) changed(result.changed);
      this.schedule(slot, result.tickAt, () => run(decoder.tick(this.now())));
    };
    line.watch((value, at) =>
      this.schedule(slot, decoder.edge(value, at), () => run(decoder.tick(this.now()))),
    );
    try {
      decoder.initial(await line.read(), this.now());
      run(decoder.tick(this.now()));
    } catch (error) {
      this.counters.ioErrors++;
      this.options.log.error(
        { line: line.line, err: (error as Error).message },
        'reading a GPIO input failed',
      );
    }
  }

  private driveLed(line: GpioLine): void {
    let pattern: LedPattern = this.ledPattern;
    let since = this.now();
    let asked = since;
    let level: 0 | 1 | null = null;
    // 25 ms steps (the shortest pattern step is 100 ms); what to show is asked every 500 ms.
    this.ledTimer = setInterval(() => {
      if (this.now() - asked >= 500) {
        asked = this.now();
        const wanted = this.ledPattern;
        if (wanted !== pattern) {
          pattern = wanted;
          since = asked;
        }
      }
      const next = ledLevel(pattern, this.now() - since);
      if (next === level) return;
      level = next;
      line.write(next).catch((error: Error) => {
        this.counters.ioErrors++;
        this.options.log.warn({ err: error.message }, 'status LED write failed');
      });
    }, 25);
  }

  /** The pattern shown now, for status. */
  get ledPattern(): LedPattern {
    return this.options.led.pattern([...this.lines.values()].some((l) => l.state === 'failed'));
  }

  /** The lines, what the LED shows, the door, and the counters. */
  snapshot() {
    return {
      lines: [...this.lines.entries()].map(([name, l]) => ({
        name,
        state: l.state,
        line: l.line,
        problem: l.problem,
      })),
      led: this.ledPattern,
      doorOpen: this.doorOpen,
      counters: { ...this.counters },
    };
  }
}

/** The GPIO lines as configured: through the rig's relay socket, else the board's sysfs (onoff). */
export function gpioOpener(config: Config['gpio']): GpioOpener {
  return config.relaySocket ? new GpioRelayOpener(config.relaySocket) : new OnoffGpioOpener();
}
