import type { GLibNamespace, GstElement, GstNamespace } from './gst-types.ts';

/*
 * webrtcbin as the media worker drives it for a consultation call. Signalling stays in the daemon
 * (Janus through janode): the worker only turns SDP into webrtcbin calls and back. Non-trickle:
 * every description leaves here with its ICE candidates in it, once gathering has completed, so
 * that the daemon has one message to pass on (Janus accepts candidates inside the SDP).
 *
 * Lessons from GStreamer 1.22 under node-gtk (issue 15): a promise's reply value is a GValue whose
 * description is taken with getBoxed(); signals emitted on streaming threads wait for the
 * JavaScript thread, so nothing here ever blocks waiting for a promise; callbacks arrive through
 * the GLib main loop.
 */

/** GstWebRTC and GstSdp: the slice used here, typed by hand as gst-types.ts does. */
interface GstWebRTCNamespace {
  WebRTCSessionDescription: { new: (type: number, sdp: unknown) => SessionDescription };
  WebRTCSDPType: Record<'OFFER' | 'ANSWER', number>;
  WebRTCICEGatheringState: Record<'COMPLETE', number>;
  WebRTCKind: Record<'VIDEO', number>;
}
interface GstSdpNamespace {
  SDPMessage: { newFromText(text: string): [number, unknown] };
}
interface SessionDescription {
  sdp: { asText(): string };
}
interface GstPromise {
  getReply(): {
    getValue(field: string): { getBoxed?: () => SessionDescription } & SessionDescription;
    nFields(): number;
    nthFieldName(index: number): string;
  } | null;
}
interface Transceiver {
  doNack: boolean;
  kind: number;
}
/** A webrtcbin sink pad: its transceiver, and the caps what is linked to it allows. */
interface WebRtcSinkPad {
  transceiver: Transceiver | null;
  getAllowedCaps(): { toString(): string } | null;
}
/** libnice's agent: which UDP ports its candidates take. */
interface IceAgent {
  minRtpPort: number;
  maxRtpPort: number;
}
interface WebRtcBin extends GstElement {
  emit(signal: string, ...args: unknown[]): unknown;
  iceGatheringState: number;
  localDescription: SessionDescription | null;
  /**
   * A property as a GValue. (The `iceAgent` accessor must not be used: node-gtk drops a reference
   * it does not own and webrtcbin's agent is freed under it; through the GValue the count holds.)
   */
  getProperty(name: 'ice-agent'): { getObject(): IceAgent | null };
  getStaticPad(name: string): unknown;
}

export interface WebRtcDeps {
  Gst: GstNamespace & {
    Promise: { new: () => GstPromise; newWithChangeFunc(fn: (p: GstPromise) => void): GstPromise };
    Structure: { newEmpty(name: string): unknown };
  };
  GLib: GLibNamespace;
  GstWebRTC: GstWebRTCNamespace;
  GstSdp: GstSdpNamespace;
}

/** Gathering on loopback or a LAN takes milliseconds; a board with a dead STUN server, longer. */
const GATHER_TIMEOUT_MS = 10_000;
/** webrtcbin answers get-stats from its own thread at once; a silent one is not waited for. */
const STATS_TIMEOUT_MS = 2000;

/** The RTX SSRC an offer announced for each media SSRC (`a=ssrc-group:FID media rtx`, RFC 4588). */
export function rtxPairs(sdp: string): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (const m of sdp.matchAll(/^a=ssrc-group:FID (\d+) (\d+)\s*$/gm))
    pairs.push([Number(m[1]), Number(m[2])]);
  return pairs;
}

export class WebRtcCalls {
  /** Per sending webrtcbin (by name): its retransmitters, whose counts tell how much was resent. */
  private readonly retransmitters = new Map<string, GstElement[]>();

  constructor(private readonly deps: WebRtcDeps) {}

  /** A publisher's offer (its local description, with candidates), for the media server. */
  async offer(element: GstElement, streams: number): Promise<string> {
    const bin = element as WebRtcBin;
    this.retransmit(bin, streams);
    const announce = this.resendAsAnnounced(bin);
    const offer = await this.ask(bin, 'create-offer', 'offer');
    await this.setLocal(bin, offer);
    const sdp = await this.localSdp(bin);
    announce(rtxPairs(sdp));
    return sdp;
  }

  /** ICE candidates from these UDP ports only (before the offer or answer: gathering starts there). */
  usePorts(element: GstElement, ports: { min: number; max: number }): void {
    const agent = (element as WebRtcBin).getProperty('ice-agent').getObject();
    if (!agent) throw new Error('webrtcbin has no ICE agent to restrict');
    agent.minRtpPort = ports.min;
    agent.maxRtpPort = ports.max;
  }

  /**
   * Statistics for the stream through `padName` (get-stats): each statistic's structure as text.
   * node-gtk will not pass a NULL pad (all streams), so a call asks per pad.
   */
  stats(element: GstElement, padName: string): Promise<string[]> {
    const bin = element as WebRtcBin;
    const pad = bin.getStaticPad(padName);
    if (!pad) return Promise.reject(new Error(`webrtcbin has no pad ${padName}`));
    const { Gst, GLib } = this.deps;
    return new Promise((resolve, reject) => {
      let settled = false;
      const promise = Gst.Promise.newWithChangeFunc((p) => {
        if (settled) return;
        settled = true;
        const reply = p.getReply();
        const out: string[] = [];
        for (let i = 0; reply && i < reply.nFields(); i++) {
          const value = reply.getValue(reply.nthFieldName(i)) as unknown as {
            getBoxed?: () => { toString(): string };
          };
          const structure = value?.getBoxed ? value.getBoxed() : value;
          if (structure) out.push(String(structure));
        }
        // What was resent on request (NACK) is loss the far end no longer reports: counted here.
        const resent = (this.retransmitters.get(bin.name) ?? []).reduce(
          (n, e) => n + Number((e as GstElement & { numRtxPackets?: number }).numRtxPackets ?? 0),
          0,
        );
        if (this.retransmitters.has(bin.name)) out.push(`rtx-sender, packets=(guint64)${resent};`);
        resolve(out);
      });
      bin.emit('get-stats', pad, promise);
      GLib.timeoutAdd(GLib.PRIORITY_DEFAULT, STATS_TIMEOUT_MS, () => {
        if (!settled) {
          settled = true;
          reject(new Error('webrtcbin did not answer get-stats'));
        }
        return false;
      });
    });
  }

  /** The media server's answer to our offer. */
  remoteAnswer(element: GstElement, sdp: string): Promise<void> {
    return this.setRemote(element as WebRtcBin, this.deps.GstWebRTC.WebRTCSDPType.ANSWER, sdp);
  }

  /** Our answer to the media server's offer (a subscription): remote set, answer made and set. */
  async answer(element: GstElement, offerSdp: string): Promise<string> {
    const bin = element as WebRtcBin;
    await this.setRemote(bin, this.deps.GstWebRTC.WebRTCSDPType.OFFER, offerSdp);
    const answer = await this.ask(bin, 'create-answer', 'answer');
    await this.setLocal(bin, answer);
    return this.localSdp(bin);
  }

  /**
   * Our lost video packets are resent (RTX) when the media server asks (RTCP NACK), on the
   * picture's transceivers among the first `count`: at a few per cent loss, a picture without
   * retransmission breaks until the next key frame, and a key frame (many packets) itself rarely
   * arrives whole. Sound is not resent: a resent voice packet comes too late to be played; Opus
   * conceals the gap. (Asking the server for ours again, on the receiving side, is not on: with
   * webrtcbin 1.22 it once held the far-end picture four seconds behind on a lossy link.)
   *
   * Which transceiver carries the picture is read from what its pad is linked to (the
   * payloader's caps say media=video): a transceiver's own `kind` is still UNKNOWN before the
   * first offer, and going by it left every call without retransmission (no rtx in the offer;
   * found in issue 15, session 6, when the resent count stayed 0 on a lossy link).
   */
  private retransmit(bin: WebRtcBin, count: number): void {
    const { WebRTCKind } = this.deps.GstWebRTC;
    for (let i = 0; i < count; i++) {
      const pad = bin.getStaticPad(`sink_${i}`) as WebRtcSinkPad | null;
      const transceiver = (pad?.transceiver ?? bin.emit('get-transceiver', i)) as Transceiver | null;
      if (!transceiver) continue;
      const caps = pad?.getAllowedCaps()?.toString() ?? '';
      if (/media=\(string\)video\b/.test(caps) || transceiver.kind === WebRTCKind.VIDEO)
        transceiver.doNack = true;
    }
  }

  /**
   * webrtcbin 1.22 announces an RTX SSRC in its offer and lets its retransmitter (rtprtxsend,
   * made once the answer is in) pick another: the media server drops every resent packet as an
   * unknown SSRC (seen in Janus's log), and a loss on the way up is never repaired. The
   * retransmitter is given the announced SSRCs as it is made.
   */
  private resendAsAnnounced(bin: WebRtcBin): (pairs: Array<[number, number]>) => void {
    const retransmitters: GstElement[] = [];
    this.retransmitters.set(bin.name, retransmitters);
    let map: string | null = null;
    const give = (element: GstElement) => {
      if (map) this.deps.Gst.utilSetObjectArg(element, 'ssrc-map', map);
    };
    // Watched from before the offer: the retransmitter may be made while the description is set.
    bin.on('deep-element-added', (_bin: unknown, element: GstElement) => {
      if (element.getFactory()?.getName() !== 'rtprtxsend') return;
      retransmitters.push(element);
      give(element);
    });
    return (pairs) => {
      if (pairs.length === 0) return;
      map = `application/x-rtp-ssrc-map, ${pairs.map(([media, rtx]) => `${media}=(uint)${rtx}`).join(', ')}`;
      for (const element of retransmitters) give(element);
    };
  }

  private ask(
    bin: WebRtcBin,
    signal: 'create-offer' | 'create-answer',
    field: string,
  ): Promise<SessionDescription> {
    const { Gst } = this.deps;
    return new Promise((resolve, reject) => {
      const promise = Gst.Promise.newWithChangeFunc((p) => {
        const value = p.getReply()?.getValue(field);
        const description = value?.getBoxed ? value.getBoxed() : value;
        if (description?.sdp) resolve(description);
        else reject(new Error(`webrtcbin gave no ${field} (is every stream linked and its caps known?)`));
      });
      bin.emit(signal, Gst.Structure.newEmpty('options'), promise);
    });
  }

  private setLocal(bin: WebRtcBin, description: SessionDescription): Promise<void> {
    const { Gst } = this.deps;
    return new Promise((resolve) => {
      bin.emit(
        'set-local-description',
        description,
        Gst.Promise.newWithChangeFunc(() => resolve()),
      );
    });
  }

  private setRemote(bin: WebRtcBin, type: number, sdp: string): Promise<void> {
    const { Gst, GstSdp, GstWebRTC } = this.deps;
    const [result, message] = GstSdp.SDPMessage.newFromText(sdp);
    if (result !== 0) return Promise.reject(new Error('the media server sent SDP that does not parse'));
    const description = GstWebRTC.WebRTCSessionDescription.new(type, message);
    return new Promise((resolve) => {
      bin.emit(
        'set-remote-description',
        description,
        Gst.Promise.newWithChangeFunc(() => resolve()),
      );
    });
  }

  /** The local description once ICE gathering completed (candidates in it), or after the timeout. */
  private localSdp(bin: WebRtcBin): Promise<string> {
    const { GLib, GstWebRTC } = this.deps;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const check = () => {
        const done = bin.iceGatheringState === GstWebRTC.WebRTCICEGatheringState.COMPLETE;
        if (done || Date.now() - started > GATHER_TIMEOUT_MS) {
          const sdp = bin.localDescription?.sdp.asText();
          if (sdp) resolve(sdp);
          else reject(new Error('webrtcbin has no local description'));
          return false;
        }
        return true;
      };
      if (check()) GLib.timeoutAdd(GLib.PRIORITY_DEFAULT, 20, check);
    });
  }
}
