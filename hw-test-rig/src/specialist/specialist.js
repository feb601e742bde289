/* global Janus */
/**
 * The province's specialist in the rig: a browser that joins the consultation room with its own
 * WebRTC stack through Janus's JavaScript API (Debian's libjs-janus-gateway), publishes its
 * (fake) camera and microphone, and subscribes to every other publisher: the terminal among them.
 * `window.specialist` is what `telemed-rig specialist` and the tests read; `specialistStats()`
 * gives what was decoded per feed, from the browser's own WebRTC statistics.
 *
 * Query: ?ws=ws://…&room=N&display=NAME
 */
(() => {
  const params = new URLSearchParams(location.search);
  const server = params.get('ws');
  const room = Number(params.get('room'));
  const display = params.get('display') || 'specialist';
  const PLUGIN = 'janus.plugin.videoroom';

  /** phase: starting → connected → joined → configured → publishing (media flowing); failed (error says why); left. */
  const state = { phase: 'starting', error: null, id: null, publishers: {}, feeds: {} };
  window.specialist = state;
  const handles = { janus: null, publisher: null, subscribers: {} };

  const show = () => {
    document.getElementById('status').textContent =
      `${state.phase}${state.error ? `: ${state.error}` : ''} · ${Object.keys(state.feeds).length} feed(s)`;
  };
  const fail = (where, error) => {
    state.phase = 'failed';
    state.error = `${where}: ${typeof error === 'string' ? error : JSON.stringify(error)}`;
    show();
  };

  const subscribe = (publisher) => {
    if (handles.subscribers[publisher.id] || publisher.id === state.id) return;
    const feed = { display: publisher.display, tracks: {}, joined: false };
    state.feeds[publisher.id] = feed;
    handles.janus.attach({
      plugin: PLUGIN,
      opaqueId: `specialist-sub-${publisher.id}`,
      success: (handle) => {
        handles.subscribers[publisher.id] = handle;
        handle.send({
          message: { request: 'join', room, ptype: 'subscriber', streams: [{ feed: publisher.id }] },
        });
      },
      error: (error) => fail(`subscribe to ${publisher.display}`, error),
      onmessage: (message, jsep) => {
        const handle = handles.subscribers[publisher.id];
        if (message.videoroom === 'attached') feed.joined = true;
        if (message.error) fail(`subscription to ${publisher.display}`, message.error);
        if (!jsep || !handle) return;
        handle.createAnswer({
          jsep,
          tracks: [{ type: 'data' }],
          success: (answer) => handle.send({ message: { request: 'start', room }, jsep: answer }),
          error: (error) => fail(`answer to ${publisher.display}`, error),
        });
      },
      onremotetrack: (track, mid, on) => {
        if (!on) {
          delete feed.tracks[mid];
          document.getElementById(`feed-${publisher.id}-${mid}`)?.remove();
          show();
          return;
        }
        feed.tracks[mid] = track.kind;
        const element = document.createElement(track.kind === 'video' ? 'video' : 'audio');
        element.id = `feed-${publisher.id}-${mid}`;
        element.autoplay = true;
        element.playsInline = true;
        element.srcObject = new MediaStream([track]);
        document.getElementById('feeds').appendChild(element);
        show();
      },
      oncleanup: () => {
        feed.tracks = {};
      },
    });
  };

  const unsubscribe = (id) => {
    handles.subscribers[id]?.detach();
    delete handles.subscribers[id];
    delete state.feeds[id];
    delete state.publishers[id];
    for (const element of document.querySelectorAll(`[id^="feed-${id}-"]`)) element.remove();
    show();
  };

  const publishers = (list) => {
    for (const p of list ?? []) {
      state.publishers[p.id] = p.display;
      subscribe(p);
    }
    show();
  };

  const publish = () => {
    handles.publisher.createOffer({
      tracks: [
        { type: 'audio', capture: true, recv: false },
        { type: 'video', capture: true, recv: false },
      ],
      success: (jsep) =>
        handles.publisher.send({ message: { request: 'configure', audio: true, video: true }, jsep }),
      error: (error) => fail('publishing', error),
    });
  };

  const join = () => {
    handles.janus.attach({
      plugin: PLUGIN,
      opaqueId: 'specialist',
      success: (handle) => {
        handles.publisher = handle;
        handle.send({ message: { request: 'join', room, ptype: 'publisher', display } });
      },
      error: (error) => fail('attach', error),
      onmessage: (message, jsep) => {
        if (message.error) fail('room', message.error);
        if (message.videoroom === 'joined') {
          state.id = message.id;
          state.phase = 'joined';
          publish();
        }
        if (message.configured === 'ok' && state.phase === 'joined') state.phase = 'configured';
        publishers(message.publishers);
        const gone = message.leaving ?? message.unpublished;
        if (gone && gone !== 'ok') unsubscribe(gone);
        if (jsep) handles.publisher.handleRemoteJsep({ jsep });
        show();
      },
      // Publishing once our media reaches the server (ICE and DTLS done), not when it was asked.
      webrtcState: (up) => {
        if (up) state.phase = 'publishing';
        show();
      },
      onlocaltrack: (track, on) => {
        if (on && track.kind === 'video')
          document.getElementById('self').srcObject = new MediaStream([track]);
      },
    });
  };

  /** Per feed: what this browser decoded (frames, size, rate) and heard (seconds of sound, level). */
  window.specialistStats = async () => {
    const out = {};
    for (const [id, handle] of Object.entries(handles.subscribers)) {
      const pc = handle.webrtcStuff?.pc;
      if (!pc) continue;
      const entry = { display: state.feeds[id]?.display ?? null, video: null, audio: null };
      for (const report of (await pc.getStats()).values()) {
        if (report.type !== 'inbound-rtp') continue;
        if (report.kind === 'video')
          entry.video = {
            framesDecoded: report.framesDecoded ?? 0,
            width: report.frameWidth ?? 0,
            height: report.frameHeight ?? 0,
            fps: report.framesPerSecond ?? 0,
            packetsLost: report.packetsLost ?? 0,
            freezeCount: report.freezeCount ?? 0,
            jitterBufferDelayS:
              report.jitterBufferEmittedCount > 0
                ? report.jitterBufferDelay / report.jitterBufferEmittedCount
                : null,
          };
        if (report.kind === 'audio')
          entry.audio = {
            seconds: report.totalSamplesDuration ?? 0,
            level: report.audioLevel ?? 0,
            packetsLost: report.packetsLost ?? 0,
          };
      }
      out[id] = entry;
    }
    return out;
  };

  window.specialistLeave = () => {
    handles.publisher?.send({ message: { request: 'leave' } });
    handles.janus?.destroy();
    state.phase = 'left';
    show();
  };

  Janus.init({
    debug: false,
    // janus.js reads the browser's name from webrtc-adapter; this page runs only in Chromium.
    dependencies: Janus.useDefaultDependencies({
      adapter: { browserDetails: { browser: 'chrome', version: 120 } },
    }),
    callback: () => {
      handles.janus = new Janus({
        server,
        success: () => {
          state.phase = 'connected';
          show();
          join();
        },
        error: (error) => fail('Janus', error),
      });
    },
  });
})();
