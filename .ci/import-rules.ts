import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The import directions of DEVELOPERS.md: device-drivers imports nothing of ours; firmware imports
 * device-drivers; the kiosk reaches the firmware only over its local API (it may import the API's
 * types, type-only); nothing imports hw-test-rig.
 */
export const TOP = [
  'device-drivers',
  'firmware',
  'kiosk-ui',
  'provisioning',
  'yocto-layer',
  'hw-test-rig',
  'bench',
  '.ci',
] as const;
type Top = (typeof TOP)[number];

const ALLOWED: Record<Top, ReadonlyArray<Top>> = {
  'device-drivers': ['device-drivers'],
  firmware: ['firmware', 'device-drivers'],
  'kiosk-ui': ['kiosk-ui'],
  provisioning: ['provisioning', 'device-drivers'],
  'yocto-layer': ['yocto-layer'],
  'hw-test-rig': ['hw-test-rig', 'firmware', 'device-drivers', 'kiosk-ui'],
  bench: ['bench', 'firmware', 'device-drivers'],
  '.ci': ['.ci'],
};

/** The one firmware file the kiosk may import, and only with `import type`. */
const KIOSK_TYPES = 'firmware/src/api/types.ts';

const ALIASES: Record<string, string> = { '#device-drivers': 'device-drivers/src/index.ts' };

export interface SourceFile {
  path: string;
  text: string;
}

export interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

const IMPORT =
  /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function topOf(path: string): Top | null {
  const first = path.split(/[\\/]/)[0] as Top;
  return (TOP as readonly string[]).includes(first) ? first : null;
}

/** Pure: checks files (paths relative to the project root) against the rules. */
export function checkImports(files: SourceFile[]): Violation[] {
  const violations: Violation[] = [];
  for (const file of files) {
    const from = topOf(file.path);
    if (!from) continue;
    for (const match of file.text.matchAll(IMPORT)) {
      const typeOnly = Boolean(match[2]);
      const specifier = (match[3] ?? match[4])!;
      let target: string | null = null;
      if (ALIASES[specifier]) target = ALIASES[specifier];
      else if (specifier.startsWith('.'))
        target = relative('.', join(dirname(file.path), specifier))
          .split(sep)
          .join('/');
      else if (specifier.startsWith('#')) {
        violations.push({ file: file.path, specifier, reason: 'unknown # alias' });
        continue;
      }
      if (target === null) continue; // a package
      const to = topOf(target);
      if (!to) {
        if (target.startsWith('..'))
          violations.push({ file: file.path, specifier, reason: 'imports from outside the project' });
        continue;
      }
      if (from === 'kiosk-ui' && to === 'firmware' && target === KIOSK_TYPES && typeOnly) continue;
      if (!ALLOWED[from].includes(to)) {
        const why =
          to === 'hw-test-rig'
            ? 'nothing imports hw-test-rig'
            : from === 'kiosk-ui'
              ? `the kiosk reaches the firmware only over the local API (import type from ${KIOSK_TYPES} only)`
              : `${from} may not import ${to}`;
        violations.push({ file: file.path, specifier, reason: why });
      }
    }
  }
  return violations;
}

export function collectSources(root: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name === '.git') continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(ts|js|mjs)$/.test(name))
        out.push({ path: relative(root, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
    }
  };
  // .ci holds the rules themselves, whose tests quote forbidden imports in strings.
  for (const top of TOP.filter((t) => t !== '.ci')) {
    try {
      walk(join(root, top));
    } catch {
      // a folder without code yet
    }
  }
  return out;
}

export function projectRoot(): string {
  return resolve(dirname(new URL(import.meta.url).pathname), '..');
}
