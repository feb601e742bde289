import {
  numberField,
  type ParsedStructure,
  parseStructure,
  StructureParseError,
} from '../media/gst-structure.ts';

/*
 * webrtcbin's statistics (get-stats, W3C webrtc-stats as GstStructures) reduced to what a call's
 * link needs: what we sent and what the far end's receiver reports of it (RTCP receiver reports:
 * loss, jitter, round trip), and what we received.
 */

export interface SendingStats {
  /** Of the stream sent most of (the picture): its packets and bytes. */
  packetsSent: number;
  bytesSent: number;
  /** Bytes sent of every stream (picture and voice). */
  totalBytesSent: number;
  /** Packets resent on the far end's request (NACK): loss its reports no longer show. */
  retransmitted: number;
  /** From the far end's receiver reports (cumulative), when one has come. */
  packetsLost: number | null;
  fractionLost: number | null;
  rttMs: number | null;
  jitterMs: number | null;
}

export interface ReceivingStats {
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
  jitterMs: number | null;
}

export interface LinkStats {
  sending: SendingStats | null;
  receiving: ReceivingStats | null;
}

/** A statistic's kind: its `type` field (GstWebRTCStatsType), else the structure's name. */
function kind(s: ParsedStructure): string {
  const type = s.fields['type'];
  return typeof type === 'string' ? type : s.name;
}

const ms = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 1000 * 10) / 10);

/**
 * Reads get-stats' structures (each as `gst_structure_to_string` text) of the sending webrtcbin's
 * pads (every outbound-rtp; the one sent most of, the picture, with the far end's
 * remote-inbound-rtp of it) or of the receiving webrtcbin (every inbound-rtp, summed: the
 * specialist's picture and voice). Structures that do not parse are
 * skipped: statistics are advisory, never fatal. (webrtcbin 1.22 labels every stream of a pad
 * with the pad's kind, so `kind` is not trusted.) A statistic given twice — each pad's answer
 * holds every stream's, and the resent count comes with each — is counted once: summed twice,
 * the sending rate read double (measured: 479 kbit/s reported for 235 sent).
 */
export function parseLinkStats(structures: readonly string[]): LinkStats {
  const parsed: ParsedStructure[] = [];
  const seen = new Set<string>();
  for (const text of structures) {
    try {
      const structure = parseStructure(text);
      const id = structure.fields['id'];
      const key = typeof id === 'string' ? `${kind(structure)}/${id}` : text;
      if (seen.has(key)) continue;
      seen.add(key);
      parsed.push(structure);
    } catch (error) {
      if (!(error instanceof StructureParseError)) throw error;
    }
  }
  const all = (name: string) => parsed.filter((s) => kind(s) === name);
  const sent = all('outbound-rtp')
    .filter((s) => numberField(s, 'packets-sent') !== null)
    .sort((a, b) => (numberField(b, 'bytes-sent') ?? 0) - (numberField(a, 'bytes-sent') ?? 0));
  const outbound = sent[0];
  const outboundId = outbound?.fields['id'];
  const remoteInbound =
    all('remote-inbound-rtp').find((s) => s.fields['local-id'] === outboundId) ??
    all('remote-inbound-rtp')[0];
  const inbound = all('inbound-rtp').filter((s) => (numberField(s, 'packets-received') ?? 0) > 0);
  const sum = (field: string) => inbound.reduce((n, s) => n + Math.max(0, numberField(s, field) ?? 0), 0);
  const jitters = inbound.map((s) => numberField(s, 'jitter')).filter((j): j is number => j !== null);
  return {
    sending: outbound
      ? {
          packetsSent: numberField(outbound, 'packets-sent') ?? 0,
          bytesSent: numberField(outbound, 'bytes-sent') ?? 0,
          totalBytesSent: sent.reduce((n, s) => n + (numberField(s, 'bytes-sent') ?? 0), 0),
          retransmitted: all('rtx-sender').reduce((n, s) => n + (numberField(s, 'packets') ?? 0), 0),
          packetsLost: remoteInbound ? numberField(remoteInbound, 'packets-lost') : null,
          fractionLost: remoteInbound ? numberField(remoteInbound, 'fraction-lost') : null,
          rttMs: ms(remoteInbound ? numberField(remoteInbound, 'round-trip-time') : null),
          jitterMs: ms(remoteInbound ? numberField(remoteInbound, 'jitter') : null),
        }
      : null,
    receiving:
      inbound.length > 0
        ? {
            packetsReceived: sum('packets-received'),
            bytesReceived: sum('bytes-received'),
            packetsLost: sum('packets-lost'),
            jitterMs: ms(jitters.length > 0 ? Math.max(...jitters) : null),
          }
        : null,
  };
}
