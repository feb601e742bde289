export type Sex = 'M' | 'F' | 'U';

export interface ScpPatient {
  id: string | null;
  lastName: string | null;
  firstName: string | null;
  birthDate: string | null;
  sex: Sex | null;
}

export interface ScpDevice {
  model: string | null;
  institution: number | null;
  department: number | null;
  deviceId: number | null;
  deviceType: number | null;
  manufacturerCode: number | null;
  protocolRevision: number | null;
  languageCode: number;
  serialNumber: string | null;
  softwareVersion: string | null;
  manufacturer: string | null;
}

export interface ScpLead {
  name: string;
  code: number;
  sampleRateHz: number;
  sampleIntervalUs: number;
  amplitudeNv: number;
  /** In units of amplitudeNv, after Huffman, difference and reference-beat reconstruction. */
  samples: Int32Array;
}

export interface ScpSectionInfo {
  id: number;
  offset: number;
  length: number;
  version: number;
  protocol: number;
  crc: number;
  crcOk: boolean | null;
}

export interface ScpRecord {
  recordCrc: number;
  recordLength: number;
  protocolVersion: number;
  patient: ScpPatient;
  /** ISO 8601, local time of the cart (with offset when Section 1 tag 34 gives one). */
  acquiredAt: string | null;
  /**
   * Section 1 tag 24: 0 a routine recording, 1–10 an emergency (STAT) one as the cart's operator
   * marked it; null when the cart does not say.
   */
  statCode: number | null;
  device: ScpDevice;
  leads: ScpLead[];
  sections: ScpSectionInfo[];
  /** Name of the vendor profile used for a non-standard file, null for a standard one. */
  vendorProfile: string | null;
  warnings: string[];
}
