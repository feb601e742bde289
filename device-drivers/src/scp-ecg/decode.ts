import { KNOWN_PROTOCOL_VERSIONS } from './consts.ts';
import { type Framing, readFraming, u32 } from './framing.ts';
import {
  HEALFORCE_PROFILE,
  healforceRecordLength,
  looksLikeHealforce,
  readHealforceLeads,
} from './healforce.ts';
import { readSection1 } from './section1.ts';
import { readLeads } from './signal.ts';
import type { ScpRecord } from './types.ts';

export type VendorProfile = 'standard' | typeof HEALFORCE_PROFILE;

export interface DecodeOptions {
  /** 'auto' (default) recognises known non-standard vendors by their signature. */
  profile?: 'auto' | VendorProfile;
}

function summary(framing: Framing) {
  return [...framing.sections.values()]
    .sort((a, b) => a.offset - b.offset)
    .map(({ id, offset, length, version, protocol, crc, crcOk }) => ({
      id,
      offset,
      length,
      version,
      protocol,
      crc,
      crcOk,
    }));
}

/**
 * Decodes one SCP-ECG record (EN 1064 / ISO 11073-91064), a pure function of its bytes.
 * Throws ScpDecodeError naming the section and field when the record cannot be trusted;
 * recoverable deviations of real carts come back as `warnings`.
 */
export function decodeScp(bytes: Uint8Array, options: DecodeOptions = {}): ScpRecord {
  const requested = options.profile ?? 'auto';
  const profile: VendorProfile =
    requested === 'auto' ? (looksLikeHealforce(bytes) ? HEALFORCE_PROFILE : 'standard') : requested;
  const warnings: string[] = [];
  if (profile === HEALFORCE_PROFILE) {
    warnings.push(
      `record: non-standard Healforce Prince 180D file, decoded with the ${HEALFORCE_PROFILE} profile; its CRCs cannot be verified`,
    );
    const framing = readFraming(
      bytes,
      { pointerBase: 0, checkCrc: false, recordLength: Math.min(healforceRecordLength(bytes), bytes.length) },
      warnings,
    );
    const demographics = readSection1(bytes, framing.sections.get(1), { bigEndianDates: true }, warnings);
    return {
      recordCrc: framing.recordCrc,
      recordLength: framing.recordLength,
      protocolVersion: framing.sections.get(0)?.protocol ?? 0,
      ...demographics,
      leads: readHealforceLeads(bytes, framing.sections),
      sections: summary(framing),
      vendorProfile: HEALFORCE_PROFILE,
      warnings,
    };
  }
  const recordLength = bytes.length >= 6 ? u32(bytes, 2) : 0;
  const framing = readFraming(bytes, { pointerBase: 1, checkCrc: true, recordLength }, warnings);
  const protocolVersion = framing.sections.get(0)?.protocol ?? 0;
  if (!KNOWN_PROTOCOL_VERSIONS.has(protocolVersion)) {
    warnings.push(
      `section 0: protocol version ${protocolVersion / 10} is not one this decoder knows; read as 2.x`,
    );
  }
  const demographics = readSection1(bytes, framing.sections.get(1), { bigEndianDates: false }, warnings);
  const leads = readLeads({ bytes, sections: framing.sections, warnings });
  return {
    recordCrc: framing.recordCrc,
    recordLength: framing.recordLength,
    protocolVersion,
    ...demographics,
    leads,
    sections: summary(framing),
    vendorProfile: null,
    warnings,
  };
}
