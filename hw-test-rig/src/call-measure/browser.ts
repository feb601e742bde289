/** What the specialist's page gets as `CallMeasure` (bundled by specialist.ts). */
export { median } from './analysis.ts';
export { CYCLE_MS, voiceSample } from './schedule.ts';
export { markCells, markGeometry, readMark, rgbaLuma, unwrapMark } from './time-mark.ts';
