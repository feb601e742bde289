import { readFileSync } from 'node:fs';

/** The firmware version, from the project's package.json (the image build stamps it). */
export const FIRMWARE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
