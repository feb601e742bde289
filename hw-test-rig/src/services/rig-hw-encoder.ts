import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PLUGIN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../gst-plugins');

export type HwEncoderFault = 'start' | 'stream';

/**
 * The board's hardware H.264 encoder, simulated: a GStreamer element registered as `vpuenc_h264`
 * (x264enc inside, `hw-test-rig/gst-plugins/python/rig_hw_encoder.py`) that refuses to start or
 * fails mid-stream on demand. The firmware's media worker sees it only through its environment
 * (GST_PLUGIN_PATH), as a board's BSP plugins are seen.
 */
export class RigHwEncoder {
  readonly faultFile: string;
  fault: HwEncoderFault | null = null;

  constructor(dir: string) {
    this.faultFile = join(dir, 'hw-encoder-fault');
    rmSync(this.faultFile, { force: true });
  }

  /** What the media worker's environment needs to find the element and its fault switch. */
  get env(): Record<string, string> {
    return {
      GST_PLUGIN_PATH: [PLUGIN_DIR, process.env['GST_PLUGIN_PATH']].filter(Boolean).join(':'),
      RIG_HW_ENCODER_FAULT_FILE: this.faultFile,
    };
  }

  setFault(fault: HwEncoderFault | null): void {
    if (fault) writeFileSync(this.faultFile, fault);
    else rmSync(this.faultFile, { force: true });
    this.fault = fault;
  }
}
