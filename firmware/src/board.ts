import { readFileSync } from 'node:fs';

/** What the board itself reports (health): the SoC's temperature, when the kernel exposes it. */
export class BoardSensors {
  constructor(
    /** The thermal zone's millidegrees (sysfs); injectable for tests and other boards. */
    private readonly thermalZone = '/sys/class/thermal/thermal_zone0/temp',
  ) {}

  snapshot(): { temperatureC: number | null } {
    try {
      const milli = Number(readFileSync(this.thermalZone, 'utf8'));
      return { temperatureC: Number.isFinite(milli) ? milli / 1000 : null };
    } catch {
      return { temperatureC: null };
    }
  }
}
