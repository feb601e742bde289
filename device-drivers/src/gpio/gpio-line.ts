import { createRequire } from 'node:module';

/**
 * The GPIO contract the panel uses (call button, status LED, tamper switch, UPS power-fail input),
 * and its implementation on `onoff` (sysfs GPIO).
 *
 * Semantics:
 * - Values are logical: 1 is "active" (button pressed, door open, power failing, LED on) after the
 *   line's configured polarity (`activeLow`) is applied.
 * - `watch` listeners get every edge of an input line with the time it was seen; nothing after
 *   `close()`.
 * - `close()` is idempotent and never rejects; an output is left inactive.
 * - `open` rejects with a {@link GpioError} naming the line when it cannot be had (not exported,
 *   taken by another driver, no GPIO support in the kernel).
 */
export interface GpioLine {
  readonly line: number;
  read(): Promise<0 | 1>;
  write(value: 0 | 1): Promise<void>;
  watch(listener: (value: 0 | 1, atMs: number) => void): () => void;
  close(): Promise<void>;
}

export interface GpioLineRequest {
  line: number;
  direction: 'in' | 'out';
  activeLow: boolean;
}

export interface GpioOpener {
  open(request: GpioLineRequest): Promise<GpioLine>;
}

export class GpioError extends Error {
  constructor(
    readonly code: 'OPEN_FAILED' | 'IO_FAILED',
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'GpioError';
  }
}

/** What the driver needs of onoff's Gpio (kept small so it can be read at a glance). */
interface OnoffGpio {
  read(): Promise<0 | 1>;
  write(value: 0 | 1): Promise<void>;
  watch(callback: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unwatch(callback?: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unexport(): void;
}

type OnoffModule = {
  Gpio: (new (
    line: number,
    direction: 'in' | 'out',
    edge: 'none' | 'both',
    options: { activeLow: boolean },
  ) => OnoffGpio) & { accessible: boolean };
};

/**
 * GPIO through sysfs (`/sys/class/gpio`), as onoff drives it: the kernel must have
 * CONFIG_GPIO_SYSFS (deprecated upstream in favour of the character device `/dev/gpiochipN`;
 * see docs/design/gpio.md for how the same contract maps onto libgpiod's line requests).
 */
export class OnoffGpioOpener implements GpioOpener {
  private onoff: OnoffModule | null;

  constructor(onoff?: OnoffModule) {
    this.onoff = onoff ?? null;
  }

  async open(request: GpioLineRequest): Promise<GpioLine> {
    if (!this.onoff) {
      try {
        this.onoff = createRequire(import.meta.url)('onoff') as OnoffModule;
      } catch (error) {
        throw new GpioError(
          'OPEN_FAILED',
          request.line,
          `GPIO line ${request.line} cannot be exported: onoff could not be loaded (${(error as Error).message.split('\n')[0]}); its native part (epoll) must be built for this board`,
        );
      }
    }
    const { Gpio } = this.onoff;
    if (!Gpio.accessible)
      throw new GpioError(
        'OPEN_FAILED',
        request.line,
        `GPIO line ${request.line} cannot be exported: this kernel offers no sysfs GPIO (/sys/class/gpio); check the board's kernel configuration (CONFIG_GPIO_SYSFS) or the gpio lines in the configuration`,
      );
    let gpio: OnoffGpio;
    try {
      gpio = new Gpio(request.line, request.direction, request.direction === 'in' ? 'both' : 'none', {
        activeLow: request.activeLow,
      });
    } catch (error) {
      throw new GpioError(
        'OPEN_FAILED',
        request.line,
        `GPIO line ${request.line} cannot be exported (${(error as Error).message}): is the line number right for this board, and not claimed by another driver?`,
      );
    }
    let closed = false;
    const watchers = new Set<(err: Error | null | undefined, value: 0 | 1) => void>();
    return {
      line: request.line,
      read: async () => {
        try {
          return await gpio.read();
        } catch (error) {
          throw new GpioError(
            'IO_FAILED',
            request.line,
            `reading GPIO line ${request.line} failed: ${(error as Error).message}`,
          );
        }
      },
      write: async (value) => {
        try {
          await gpio.write(value);
        } catch (error) {
          throw new GpioError(
            'IO_FAILED',
            request.line,
            `writing GPIO line ${request.line} failed: ${(error as Error).message}`,
          );
        }
      },
      watch: (listener) => {
        const callback = (err: Error | null | undefined, value: 0 | 1) => {
          if (!err && !closed) listener(value, performance.now());
        };
        watchers.add(callback);
        gpio.watch(callback);
        return () => {
          watchers.delete(callback);
          gpio.unwatch(callback);
        };
      },
      close: async () => {
        if (closed) return;
        closed = true;
        for (const w of watchers) gpio.unwatch(w);
        if (request.direction === 'out') await gpio.write(0).catch(() => undefined);
        try {
          gpio.unexport();
        } catch {
          // already gone with the chip
        }
      },
    };
  }
}
