/* global Janus, CallMeasure */
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
    const feed = { display: publisher.display, tracks: {}, joined: false, delays: [], video: null };
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
        if (track.kind === 'video') {
          feed.video = element;
          readMarks(element, feed);
        } else listen(track, feed);
        show();
      },
      oncleanup: () => {
        feed.tracks = {};
      },
    });
  };

  /**
   * Each frame as it is shown (requestVideoFrameCallback): the time mark in its bottom edge, read
   * back; the one-way delay is when it was shown minus when the sender took it (same clock: the
   * rig runs on one machine).
   */
  const readMarks = (video, feed) => {
    const canvas = document.createElement('canvas');
    const g = canvas.getContext('2d', { willReadFrequently: true });
    const onFrame = (_now, meta) => {
      if (!video.isConnected) return;
      const { width, height } = meta;
      const { top, stripHeight } = CallMeasure.markGeometry(width, height);
      canvas.width = width;
      canvas.height = stripHeight;
      g.drawImage(video, 0, top, width, stripHeight, 0, 0, width, stripHeight);
      const data = g.getImageData(0, 0, width, stripHeight).data;
      const luma = CallMeasure.rgbaLuma(data, width);
      const mark = CallMeasure.readMark((x, y) => luma(x, y - top), width, height);
      if (mark !== null) {
        const shown = performance.timeOrigin + meta.expectedDisplayTime;
        feed.delays.push(shown - CallMeasure.unwrapMark(mark, shown));
        if (feed.delays.length > 3000) feed.delays.splice(0, 1000);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
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

  /**
   * What the specialist sends: the (fake) camera drawn onto a canvas with the time mark burnt into
   * its bottom edge at the moment each frame is taken (CallMeasure.markCells), 30 times a second;
   * the terminal's far-end pictures carry it back for the one-way delay.
   */
  const markedCamera = async () => {
    const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    const video = document.createElement('video');
    video.muted = true;
    video.srcObject = camera;
    await video.play();
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    const g = canvas.getContext('2d');
    const stream = canvas.captureStream(0);
    const [track] = stream.getVideoTracks();
    const { top, stripHeight, cellWidth } = CallMeasure.markGeometry(canvas.width, canvas.height);
    setInterval(() => {
      g.drawImage(video, 0, 0, canvas.width, canvas.height);
      const cells = CallMeasure.markCells(Date.now());
      for (let i = 0; i < cells.length; i++) {
        g.fillStyle = cells[i] ? '#fff' : '#000';
        g.fillRect(Math.floor(i * cellWidth), top, Math.ceil(cellWidth), stripHeight);
      }
      track.requestFrame();
    }, 1000 / 30);
    return track;
  };

  /**
   * The specialist's sound: a WebAudio clock shared by what we say and what we hear. Wall-clock
   * time of a point on the audio clock is `clock.offset + contextSeconds * 1000`, the offset taken
   * where the audio clock has just advanced (the smallest of a few readings).
   */
  const audio = { context: null, offset: 0 };
  const startAudio = async () => {
    const context = new AudioContext({ sampleRate: 48000 });
    await context.resume();
    let offset = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 40; i++) {
      offset = Math.min(offset, Date.now() - context.currentTime * 1000);
      await new Promise((r) => setTimeout(r, 7));
    }
    audio.context = context;
    audio.offset = offset;
    const blob = new Blob(
      [
        `registerProcessor('levels', class extends AudioWorkletProcessor {
          process(inputs) {
            const channel = inputs[0] && inputs[0][0];
            let energy = 0;
            if (channel) for (let i = 0; i < channel.length; i++) energy += channel[i] * channel[i];
            this.port.postMessage({ t: currentTime, energy, n: channel ? channel.length : 0 });
            return true;
          }
        });`,
      ],
      { type: 'text/javascript' },
    );
    await context.audioWorklet.addModule(URL.createObjectURL(blob));
  };

  /**
   * What the specialist says (CallMeasure.voiceSample: pips and talk on the wall-clock cycle),
   * looped from a buffer started at the right point of the cycle.
   */
  const voice = () => {
    const { context, offset } = audio;
    const cycle = CallMeasure.CYCLE_MS;
    const buffer = context.createBuffer(1, (cycle / 1000) * context.sampleRate, context.sampleRate);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < data.length; i++)
      data[i] = CallMeasure.voiceSample('specialist', (i * 1000) / context.sampleRate);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.loop = true;
    const destination = context.createMediaStreamDestination();
    source.connect(destination);
    const when = context.currentTime + 0.1;
    source.start(when, ((offset + when * 1000) % cycle) / 1000);
    return destination.stream.getAudioTracks()[0];
  };

  /** A received voice's level, 10 ms a bin by wall clock (LevelTrack), for the rig's analysis. */
  const listen = (track, feed) => {
    const { context, offset } = audio;
    const node = new AudioWorkletNode(context, 'levels');
    const silent = context.createGain();
    silent.gain.value = 0;
    context.createMediaStreamSource(new MediaStream([track])).connect(node);
    node.connect(silent).connect(context.destination);
    const levels = { startMs: null, stepMs: 10, energy: [], count: [] };
    feed.levels = levels;
    node.port.onmessage = ({ data }) => {
      const at = offset + data.t * 1000;
      if (levels.startMs === null) levels.startMs = Math.floor(at / 10) * 10;
      const bin = Math.floor((at - levels.startMs) / 10);
      while (levels.energy.length <= bin) {
        levels.energy.push(0);
        levels.count.push(0);
      }
      levels.energy[bin] += data.energy;
      levels.count[bin] += data.n;
    };
  };

  const publish = async () => {
    const video = await markedCamera().catch((error) => fail('camera', String(error)));
    if (!video) return;
    handles.publisher.createOffer({
      tracks: [
        { type: 'audio', capture: voice(), recv: false },
        // Simulcast (three sizes): a clinic on a slow link chooses the size it can carry, as Janus
        // passes on the layer each subscriber asks for and ignores their bandwidth estimates.
        { type: 'video', capture: video, recv: false, simulcast: true },
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
        startAudio().then(
          () => handle.send({ message: { request: 'join', room, ptype: 'publisher', display } }),
          (error) => fail('sound', String(error)),
        );
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

  /** Mean max(R,G,B) − min(R,G,B) of the frame a video element shows now (null before one). */
  const colourfulness = (video) => {
    if (!video || video.videoWidth === 0) return null;
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 36;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    g.drawImage(video, 0, 0, 64, 36);
    const data = g.getImageData(0, 0, 64, 36).data;
    let sum = 0;
    for (let i = 0; i < data.length; i += 4)
      sum += Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]);
    return sum / (64 * 36);
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
            latencyMs: CallMeasure.median(state.feeds[id]?.delays ?? []),
            marksRead: state.feeds[id]?.delays.length ?? 0,
            colourfulness: colourfulness(state.feeds[id]?.video),
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

  /** Per feed: the level of what it said, as heard here (LevelTrack: wall-clock ms, 10 ms bins). */
  window.specialistLevels = () => {
    const out = {};
    for (const [id, feed] of Object.entries(state.feeds)) {
      const l = feed.levels;
      if (!l || l.startMs === null) continue;
      out[id] = {
        display: feed.display,
        startMs: l.startMs,
        stepMs: l.stepMs,
        rms: l.energy.map((e, i) => (l.count[i] > 0 ? Math.sqrt(e / l.count[i]) : 0)),
      };
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
