import test from 'ava';
import { checkImports, collectSources, projectRoot } from '../import-rules.ts';

test('the project follows the import directions', (t) => {
  t.deepEqual(checkImports(collectSources(projectRoot())), []);
});

test('each forbidden direction is caught', (t) => {
  const cases = [
    { path: 'device-drivers/src/x.ts', text: "import { a } from '../../firmware/src/daemon.ts';" },
    { path: 'firmware/src/x.ts', text: "import { Rig } from '../../hw-test-rig/src/rig.ts';" },
    { path: 'firmware/test/x.test.ts', text: "const m = await import('../../hw-test-rig/src/rig.ts');" },
    { path: 'kiosk-ui/src/renderer/x.ts', text: "import { Daemon } from '../../../firmware/src/daemon.ts';" },
    {
      path: 'kiosk-ui/src/renderer/y.ts',
      text: "import { displayState } from '../../../firmware/src/api/types.ts';",
    },
    { path: 'device-drivers/src/y.ts', text: "export * from '../../../elsewhere/z.ts';" },
  ];
  const violations = checkImports(cases);
  t.deepEqual(
    violations.map((v) => v.file),
    cases.map((c) => c.path),
  );
  t.regex(violations[1]!.reason, /nothing imports hw-test-rig/);
});

test('allowed directions pass', (t) => {
  t.deepEqual(
    checkImports([
      { path: 'firmware/src/x.ts', text: "import { decodeScp } from '#device-drivers';" },
      {
        path: 'kiosk-ui/src/renderer/x.ts',
        text: "import type { StatusResponse } from '../../../firmware/src/api/types.ts';",
      },
      { path: 'hw-test-rig/src/x.ts', text: "import { Daemon } from '../../firmware/src/daemon.ts';" },
      { path: 'device-drivers/src/x.ts', text: "import { SerialPort } from 'serialport';" },
    ]),
    [],
  );
});
