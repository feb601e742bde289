// Imported, not read at run time: the bundle the image ships inlines it (a path relative to this
// file would point elsewhere once bundled).
import pkg from '../../package.json' with { type: 'json' };

/** The firmware version, from the project's package.json. */
export const FIRMWARE_VERSION: string = pkg.version;
