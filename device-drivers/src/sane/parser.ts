/**
 * Parsers for what `scanimage` (sane-utils) prints: the device list, a device's options, and the
 * progress lines of a scan. Pure functions over text, so every oddity a backend prints is tested
 * on strings.
 */

export class SaneParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaneParseError';
  }
}

export interface SaneDevice {
  /** SANE device name, e.g. `test:0`, `genesys:libusb:001:004`, `net:host:epson2:...`. */
  name: string;
  vendor: string;
  model: string;
  type: string;
}

/** The `-f` format the driver asks for: one device per line, fields tab-separated. */
export const DEVICE_LIST_FORMAT = '%d\t%v\t%m\t%t%n';

/** Lines of `scanimage -f DEVICE_LIST_FORMAT`; lines that are not four fields are skipped. */
export function parseDeviceList(text: string): SaneDevice[] {
  const devices: SaneDevice[] = [];
  for (const line of text.split('\n')) {
    const fields = line.replace(/\r$/, '').split('\t');
    if (fields.length !== 4 || !fields[0]) continue;
    const [name, vendor, model, type] = fields as [string, string, string, string];
    devices.push({ name, vendor, model, type });
  }
  return devices;
}

/** One backend option as `scanimage -A` describes it. */
export interface SaneOption {
  name: string;
  /** A list of choices (`Gray|Color`, `75|150|300dpi`), or a range (`1..1200dpi (in steps of 1)`). */
  values: { kind: 'list'; choices: string[] } | { kind: 'range'; min: number; max: number; step: number };
  unit: string;
  /** The current value; null when the backend prints none. */
  current: string | null;
  inactive: boolean;
}

const OPTION_LINE = /^\s+(--?[A-Za-z0-9][A-Za-z0-9-]*)(?:\[=\(([^)]*)\)\])?(?: (.*?))? \[(.*)\]\s*$/;
const RANGE = /^(-?\d+(?:\.\d+)?)\.\.(-?\d+(?:\.\d+)?)([a-z%]*)(?: \(in steps of (\d+(?:\.\d+)?)\))?$/;

/**
 * Options from `scanimage -d DEVICE -A`. Only option lines are read (two-space indent, a dash, a
 * value description, the current value in brackets); group headers and help text are skipped.
 */
export function parseOptions(text: string): Map<string, SaneOption> {
  const options = new Map<string, SaneOption>();
  for (const line of text.split('\n')) {
    const match = OPTION_LINE.exec(line.replace(/\r$/, ''));
    if (!match) continue;
    const [, flag, boolChoices, description, bracket] = match as unknown as [
      string,
      string,
      string | undefined,
      string | undefined,
      string,
    ];
    const name = flag.replace(/^--?/, '');
    const inactive = bracket === 'inactive';
    const current = inactive ? null : bracket;
    if (boolChoices !== undefined) {
      options.set(name, {
        name,
        values: { kind: 'list', choices: boolChoices.split('|') },
        unit: '',
        current,
        inactive,
      });
      continue;
    }
    if (description === undefined) continue;
    const range = RANGE.exec(description);
    if (range) {
      const [, min, max, unit, step] = range as unknown as [
        string,
        string,
        string,
        string,
        string | undefined,
      ];
      options.set(name, {
        name,
        values: {
          kind: 'range',
          min: Number(min),
          max: Number(max),
          step: step === undefined ? 0 : Number(step),
        },
        unit,
        current,
        inactive,
      });
      continue;
    }
    // A list: `Gray|Color`, or numbers sharing a unit on the last one (`75|150|300dpi`).
    const unitMatch = /^(.*?\d)([a-z%]+)$/.exec(description);
    const listed = unitMatch ? (unitMatch[1] as string) : description;
    options.set(name, {
      name,
      values: { kind: 'list', choices: listed.split('|') },
      unit: unitMatch ? (unitMatch[2] as string) : '',
      current,
      inactive,
    });
  }
  return options;
}

/** What the terminal offers staff for one scanner, read from its options. */
export interface ScannerCapabilities {
  /** Resolutions staff may pick (dpi), from the backend's list or range. */
  resolutions: number[];
  modes: string[];
  sources: string[];
  /** Scan area the backend allows, mm; null when it does not say. */
  maxWidthMm: number | null;
  maxHeightMm: number | null;
  /** The source name of the document feeder, when there is one. */
  feeder: string | null;
}

/** Resolutions a clinic would use, offered when a backend gives a continuous range. */
const COMMON_DPI = [75, 100, 150, 200, 300, 400, 600];

export function capabilities(options: Map<string, SaneOption>): ScannerCapabilities {
  const resolution = options.get('resolution');
  let resolutions: number[] = [];
  if (resolution?.values.kind === 'list')
    resolutions = resolution.values.choices.map(Number).filter((n) => Number.isFinite(n) && n > 0);
  else if (resolution?.values.kind === 'range') {
    const { min, max } = resolution.values;
    resolutions = COMMON_DPI.filter((dpi) => dpi >= min && dpi <= max);
  }
  const choices = (name: string) => {
    const option = options.get(name);
    return option?.values.kind === 'list' ? option.values.choices : [];
  };
  const extent = (name: string) => {
    const option = options.get(name);
    return option?.values.kind === 'range' && option.unit === 'mm' ? option.values.max : null;
  };
  const sources = choices('source');
  return {
    resolutions,
    modes: choices('mode'),
    sources,
    maxWidthMm: extent('x'),
    maxHeightMm: extent('y'),
    // Backends name it differently: "Automatic Document Feeder", "ADF", "ADF Front", "Feeder".
    feeder: sources.find((s) => /adf|feeder/i.test(s)) ?? null,
  };
}

/**
 * Progress from `scanimage -p` on stderr: `Progress: 12.3%` lines separated by CR or LF. Returns
 * the last fraction (0..1) in the chunk, or null when it holds none.
 */
export function lastProgress(chunk: string): number | null {
  let last: number | null = null;
  for (const match of chunk.matchAll(/Progress: (\d+(?:\.\d+)?)%/g)) {
    const value = Number(match[1]) / 100;
    if (value >= 0 && value <= 1) last = value;
  }
  return last;
}

/**
 * scanimage's own words when it is signalled (stopped by us after a failure, or cancelled):
 * they come after the backend's status and say nothing about what went wrong.
 */
const SIGNAL_LINES = /^(received signal \d+|trying to stop scanner\.*|aborting)$/;

/**
 * The last `scanimage: ...` error line on stderr (the backend's status text), or null. Lines
 * scanimage prints about signals it got are passed over when the backend said something before.
 */
export function backendError(stderr: string): string | null {
  const lines = stderr
    .split(/[\r\n]+/)
    .filter((l) => l.startsWith('scanimage: '))
    .map((l) => l.slice('scanimage: '.length).trim());
  return lines.filter((l) => !SIGNAL_LINES.test(l)).at(-1) ?? lines.at(-1) ?? null;
}
