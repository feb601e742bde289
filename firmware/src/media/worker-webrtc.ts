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
  } | null;
}
interface WebRtcBin extends GstElement {
  emit(signal: string, ...args: unknown[]): unknown;
  iceGatheringState: number;
  localDescription: SessionDescription | null;
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

export class WebRtcCalls {
  constructor(private readonly deps: WebRtcDeps) {}

  /** A publisher's offer (its local description, with candidates), for the media server. */
  async offer(element: GstElement): Promise<string> {
    const bin = element as WebRtcBin;
    const offer = await this.ask(bin, 'create-offer', 'offer');
    await this.setLocal(bin, offer);
    return this.localSdp(bin);
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
