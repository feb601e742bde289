import {
  type CardText,
  COMMAND,
  encodeCardData,
  encodeReply,
  NodeSerialOpener,
  PHOTO_BYTES,
  type SerialLink,
  STATUS,
  scanCommand,
} from '#device-drivers';

const same = (cmd: number, para: number, command: readonly [number, number]) =>
  cmd === command[0] && para === command[1];

export interface IdReaderFaults {
  /** Line noise before every reply (a reader with a bad ground). */
  noiseBeforeReplies?: Uint8Array;
  /** Corrupt the checksum of the next N replies. */
  damageReplies?: number;
  /** Answer the next read with this status (SW3) instead of the card: e.g. 0x41, no known status. */
  readStatus?: number;
  /** The card is lifted between select and read (the clerk took it too soon). */
  liftBeforeRead?: boolean;
}

/**
 * A resident ID card reader (SAM module) on the far end of the serial cable: it answers the
 * GA 467 commands through the real `serialport` and the real frame codec, with the card the rig
 * lays on it (text fields and a 1024-byte stand-in photo), for as long as it lies there.
 */
export class IdReaderSimulator {
  private link: SerialLink | null = null;
  private buffer = new Uint8Array(0);
  private handling: Promise<void> = Promise.resolve();
  private card: { text: CardText; photo: Uint8Array } | null = null;
  private liftTimer: NodeJS.Timeout | null = null;
  faults: IdReaderFaults = {};
  readonly counters = { commands: 0, badCommands: 0, reads: 0 };

  constructor(
    private readonly readerEnd: string,
    private readonly baudRate = 115200,
    /**
     * Replies take the time the real UART takes (10 bits a byte at `baudRate`): a pty delivers at
     * memory speed, and the 1.3 KB read reply is ~113 ms on a real reader's line.
     */
    private readonly paced = true,
  ) {}

  async start(): Promise<void> {
    this.link = await new NodeSerialOpener().open(this.readerEnd, { baudRate: this.baudRate });
    // One command at a time, in order, however the bytes are split into chunks.
    this.link.onData((chunk) => {
      this.handling = this.handling.then(() => this.receive(chunk));
    });
  }

  /** Lays a card on the reader for `forMs` (then it is lifted), as a clinic clerk does. */
  present(text: CardText, forMs = 3000, photo = new Uint8Array(PHOTO_BYTES).fill(0x5a)): void {
    this.card = { text, photo };
    if (this.liftTimer) clearTimeout(this.liftTimer);
    this.liftTimer = setTimeout(() => {
      this.card = null;
    }, forMs);
  }

  lift(): void {
    if (this.liftTimer) clearTimeout(this.liftTimer);
    this.card = null;
  }

  async stop(): Promise<void> {
    this.lift();
    await this.link?.close();
    this.link = null;
  }

  private async receive(chunk: Uint8Array): Promise<void> {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer, 0);
    joined.set(chunk, this.buffer.length);
    this.buffer = joined;
    for (;;) {
      const scanned = scanCommand(this.buffer);
      this.buffer = this.buffer.slice(scanned.consumed);
      if (scanned.kind === 'need-more') return;
      if (scanned.kind === 'bad') {
        this.counters.badCommands++;
        await this.reply([0, 0, STATUS.checksumError]);
        continue;
      }
      this.counters.commands++;
      const { cmd, para } = scanned.frame;
      if (same(cmd, para, COMMAND.findCard)) {
        await this.reply(this.card ? [0, 0, STATUS.cardFound] : [0, 0, STATUS.noCard], new Uint8Array(4));
      } else if (same(cmd, para, COMMAND.selectCard)) {
        await this.reply(this.card ? [0, 0, STATUS.success] : [0, 0, STATUS.selectFailed], new Uint8Array(8));
      } else if (same(cmd, para, COMMAND.readCard)) {
        if (this.faults.liftBeforeRead) {
          this.faults.liftBeforeRead = false;
          this.lift();
        }
        if (this.faults.readStatus !== undefined) {
          const sw3 = this.faults.readStatus;
          delete this.faults.readStatus;
          await this.reply([0, 0, sw3]);
        } else if (!this.card) await this.reply([0, 0, STATUS.readFailed]);
        else {
          this.counters.reads++;
          await this.reply([0, 0, STATUS.success], encodeCardData(this.card.text, this.card.photo));
        }
      } else if (same(cmd, para, COMMAND.samStatus) || same(cmd, para, COMMAND.resetSam)) {
        await this.reply([0, 0, STATUS.success]);
      } else {
        await this.reply([0, 0, STATUS.unknownCommand]);
      }
    }
  }

  private async reply(sw: [number, number, number], data?: Uint8Array): Promise<void> {
    const frame = encodeReply(sw, data);
    if ((this.faults.damageReplies ?? 0) > 0) {
      this.faults.damageReplies = (this.faults.damageReplies ?? 0) - 1;
      frame[frame.length - 1]! ^= 0x55;
    }
    const noise = this.faults.noiseBeforeReplies;
    const bytes = noise ? Uint8Array.from([...noise, ...frame]) : frame;
    if (this.paced) await new Promise((r) => setTimeout(r, (bytes.length * 10 * 1000) / this.baudRate));
    await this.link?.write(bytes).catch(() => {});
  }
}
