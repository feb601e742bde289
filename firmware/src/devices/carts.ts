import { EcgCart, type SerialOpener, TIMING } from '#device-drivers';
import type { Config } from '../config/schema.ts';
import type { EventBus } from '../events.ts';
import type { EcgIngest } from '../ingest/ecg-ingest.ts';
import type { Service } from '../service.ts';

export interface CartSnapshot {
  id: string;
  state: EcgCart['state'];
  port: string | null;
  problem: string | null;
  counters: EcgCart['counters'];
}

/**
 * The ECG carts configured on this terminal, each on the serial port it is found on by identity.
 * A cart's record goes to the ECG ingest (its final ACK waits for the record to be durable); its
 * link states and problems go on the bus; a serial port arriving wakes the carts still looking.
 */
export class Carts implements Service<CartSnapshot[]> {
  readonly name = 'carts';
  readonly carts = new Map<string, EcgCart>();

  constructor(
    config: Config,
    opener: SerialOpener,
    ingest: Pick<EcgIngest, 'receive'>,
    private readonly bus: EventBus,
  ) {
    for (const cart of config.carts)
      this.carts.set(
        cart.id,
        new EcgCart({
          id: cart.id,
          identity: cart.identity,
          baudRate: cart.baudRate,
          protocol: cart.protocol,
          timing: { ...TIMING, blockTimeoutMs: cart.blockTimeoutMs, maxRetries: cart.maxRetries },
          opener,
          deliver: (record) => ingest.receive(record),
          onState: (state, detail) => bus.emit({ type: 'cart-state', cartId: cart.id, state, detail }),
          onProblem: (message) => bus.emit({ type: 'cart-problem', cartId: cart.id, message }),
        }),
      );
  }

  start(): void {
    this.bus.on(this.name, 'usb-arrival', (event) => {
      if (event.kind !== 'tty') return;
      for (const cart of this.carts.values()) if (cart.state === 'searching') cart.kick();
    });
    for (const cart of this.carts.values()) cart.start();
  }

  async stop(): Promise<void> {
    this.bus.off(this.name);
    await Promise.all([...this.carts.values()].map((c) => c.stop()));
  }

  snapshot(): CartSnapshot[] {
    return [...this.carts.entries()].map(([id, cart]) => ({
      id,
      state: cart.state,
      port: cart.port,
      problem: cart.lastProblem,
      counters: { ...cart.counters },
    }));
  }
}
