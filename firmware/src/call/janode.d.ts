/**
 * The slice of janode (Meetecho's Janus client, plain JavaScript) the call uses, typed by hand as
 * node-gtk.d.ts does for GStreamer. Every value that comes from the media server is still checked
 * where it is used (janus-room.ts): these types describe janode, not what a server may send.
 */
declare module 'janode' {
  import type { EventEmitter } from 'node:events';

  export interface JanodeHandle extends EventEmitter {
    detach(): Promise<void>;
  }
  export interface JanodeSession extends EventEmitter {
    attach<T>(plugin: { id: string; Handle: new (...args: never[]) => T }): Promise<T & JanodeHandle>;
    destroy(): Promise<void>;
  }
  export interface JanodeConnection extends EventEmitter {
    create(keepAliveS?: number): Promise<JanodeSession>;
    close(): Promise<void>;
  }
  const Janode: {
    connect(config: {
      address: { url: string };
      retry_time_secs?: number;
      max_retries?: number;
    }): Promise<JanodeConnection>;
    EVENT: Record<
      | 'CONNECTION_CLOSED'
      | 'CONNECTION_ERROR'
      | 'SESSION_DESTROYED'
      | 'HANDLE_DETACHED'
      | 'HANDLE_HANGUP'
      | 'HANDLE_WEBRTCUP'
      | 'HANDLE_MEDIA'
      | 'HANDLE_SLOWLINK'
      | 'HANDLE_ICE_FAILED',
      string
    >;
    Logger: { setLevel(level: 'none' | 'error' | 'warning' | 'info' | 'verbose' | 'debug'): string };
  };
  export default Janode;
}

declare module 'janode/plugins/videoroom' {
  import type { JanodeHandle } from 'janode';

  export interface Jsep {
    type: string;
    sdp: string;
  }
  export interface VideoRoomHandle extends JanodeHandle {
    joinPublisher(o: { room: number; display: string }): Promise<unknown>;
    configure(o: {
      audio?: boolean;
      video?: boolean;
      jsep?: Jsep;
      bitrate?: number;
      keyframe?: boolean;
      /** A subscription's simulcast layer (0 lowest, 2 highest). */
      sc_substream_layer?: number;
    }): Promise<unknown>;
    joinSubscriber(o: { room: number; feed: number }): Promise<unknown>;
    start(o: { jsep: Jsep }): Promise<unknown>;
    leave(): Promise<unknown>;
  }
  const VideoRoomPlugin: {
    id: string;
    Handle: new (...args: never[]) => VideoRoomHandle;
    EVENT: Record<
      | 'VIDEOROOM_PUB_LIST'
      | 'VIDEOROOM_UNPUBLISHED'
      | 'VIDEOROOM_LEAVING'
      | 'VIDEOROOM_KICKED'
      | 'VIDEOROOM_SLOWLINK'
      | 'VIDEOROOM_DESTROYED',
      string
    >;
  };
  export default VideoRoomPlugin;
}
