/**
 * The slice of the GStreamer / GLib introspection API the media worker uses, typed by hand: node-gtk
 * builds these objects at run time from the typelibs and ships no TypeScript types.
 */
export interface GObjectLike {
  getProperty(name: string): unknown;
}

export interface GstElement extends GObjectLike {
  name: string;
  link(to: GstElement): boolean;
  linkFiltered(to: GstElement, caps: unknown): boolean;
  linkPadsFiltered(fromPad: string | null, to: GstElement, toPad: string | null, caps: unknown): boolean;
  setState(state: number): number;
  /** [the last state change's result, current state, pending state]; timeout in ns (0: now). */
  getState(timeout: number): [number, number, number];
  getFactory(): { getName(): string } | null;
  sendEvent(event: unknown): boolean;
  on(
    signal: 'pad-added',
    handler: (pad: { name: string; getCurrentCaps(): { toString(): string } | null }) => void,
  ): void;
  /** A bin's: an element added anywhere inside it. */
  on(signal: 'deep-element-added', handler: (bin: unknown, element: GstElement) => void): void;
}

export interface GstElementWithPads extends GstElement {
  getStaticPad(name: string): GstPad | null;
}

/** input-selector: the pad shown is a property holding the pad itself. */
export interface InputSelector extends GstElementWithPads {
  activePad: GstPad | null;
}

export interface GstClock {
  getTime(): bigint;
}

export interface GstPipeline extends GstElement {
  add(element: GstElement): boolean;
  /** Clock times in ns (node-gtk gives guint64 as bigint). */
  getBaseTime(): bigint;
  getClock(): GstClock | null;
  getBus(): GstBus;
  getByName(name: string): GstElement | null;
}

export interface GstMessage {
  type: number;
  src: { name: string } | null;
  parseError(): [{ message: string }, string | null];
  parseWarning(): [{ message: string }, string | null];
  parseStateChanged(): [number, number, number];
  getStructure(): { getName(): string; getString(field: string): string | null; toString(): string } | null;
}

export interface GstBus {
  addWatch(priority: number, fn: (bus: GstBus, message: GstMessage) => boolean): number;
  popFiltered(types: number): GstMessage | null;
  removeWatch(): boolean;
}

export interface GstStructure {
  getString(field: string): string | null;
}

export interface GstDevice {
  getDisplayName(): string;
  getCaps(): { toString(): string } | null;
  getProperties(): GstStructure | null;
  createElement(name: string | null): GstElement | null;
}

export interface GstNamespace {
  DeviceMonitor: new () => {
    addFilter(classes: string, caps: unknown): number;
    start(): boolean;
    stop(): void;
    getDevices(): GstDevice[] | null;
  };
  init(argv: null): void;
  version(): [number, number, number, number];
  ElementFactory: {
    make(factory: string, name: string): GstElement | null;
    find(factory: string): object | null;
  };
  Caps: { fromString(caps: string): unknown };
  Event: { newEos(): unknown };
  BufferFlags: { DELTA_UNIT: number };
  Format: { TIME: number };
  FlowReturn: { OK: number };
  PadProbeType: { EVENT_UPSTREAM: number };
  PadProbeReturn: { OK: number };
  utilSetObjectArg(object: GstElement | GstPad, name: string, value: string): void;
  MessageType: Record<'EOS' | 'ERROR' | 'WARNING' | 'STATE_CHANGED' | 'QOS' | 'LATENCY' | 'ELEMENT', number>;
  State: Record<'NULL' | 'READY' | 'PAUSED' | 'PLAYING', number>;
  StateChangeReturn: Record<'FAILURE' | 'SUCCESS' | 'ASYNC' | 'NO_PREROLL', number>;
  Element: { stateGetName(state: number): string };
}

export interface GstSample {
  getBuffer(): {
    getSize(): bigint | number;
    getFlags(): number;
    /** Presentation time in ns (GST_CLOCK_TIME_NONE when unset); node-gtk gives guint64 as bigint. */
    pts: bigint;
    extractDup(offset: number, size: number): number[] | Uint8Array;
  } | null;
  getCaps(): { toString(): string } | null;
  getSegment(): { toRunningTime(format: number, position: bigint): bigint } | null;
}

/** GstApp.AppSink's pull API (the object node-gtk wraps once GstApp is required). */
export interface GstAppSink extends GstElement {
  tryPullSample(timeoutNs: number): GstSample | null;
}

export interface GstPad {
  getCurrentCaps(): { toString(): string } | null;
  /** Added to the running time of what passes (ns; may be negative). */
  setOffset(offsetNs: number): void;
  addProbe(type: number, fn: (pad: GstPad, info: { getEvent(): unknown | null }) => number): number;
}

export interface GstAppSrc extends GstElement {
  getStaticPad(name: string): GstPad | null;
  pushSample(sample: GstSample): number;
  endOfStream(): number;
}

export interface GstVideoNamespace {
  videoConvertSample(sample: GstSample, caps: unknown, timeoutNs: number): GstSample | null;
  videoEventNewUpstreamForceKeyUnit(runningTime: number, allHeaders: boolean, count: number): unknown;
  videoEventIsForceKeyUnit(event: unknown): boolean;
}

export interface GLibNamespace {
  MainLoop: new (context: null, running: boolean) => { run(): void; quit(): void };
  timeoutAdd(priority: number, intervalMs: number, fn: () => boolean): number;
  sourceRemove(id: number): boolean;
  PRIORITY_DEFAULT: number;
}
