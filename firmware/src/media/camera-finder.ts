import { existsSync } from 'node:fs';
import { chooseMode, parseCameraCaps } from './camera.ts';
import type { CameraSource } from './camera-source.ts';
import type { CameraInfo } from './ipc.ts';
import { VideoError } from './video-error.ts';

/**
 * A terminal's cameras by what they film: the room camera (the patient, the nurse) and, where the
 * clinic has one, the document camera (a page, a film, a wound up close). Staff switch between
 * them; the one chosen is what the preview, stills, recordings, live out and the call carry.
 */
export type CameraRole = 'room' | 'document';
export const CAMERA_ROLES: readonly CameraRole[] = ['room', 'document'];

type CameraSourceElements = Extract<CameraSource, { kind: 'elements' }>['elements'];
/** A chain of elements (the rig's cameras) with the path that exists while it is plugged in. */
type ElementsCamera = { kind: 'elements'; elements: CameraSourceElements; presencePath?: string };

/** The room camera: discovered (the first usable one that is not the document camera), or elements. */
export type CameraConfig = { kind: 'auto' } | ElementsCamera;
/**
 * The document camera: none; a USB camera picked by `match` (its serial number, its USB bus path,
 * or a part of its name: a technician reads name and serial off the local API's
 * `status.usbDevices`); or elements.
 */
export type DocumentCameraConfig = { kind: 'none' } | { kind: 'usb'; match: string } | ElementsCamera;

export interface FoundCamera {
  role: CameraRole;
  source: CameraSource;
  /** The device's name, or 'rig test camera' / 'rig document camera'. */
  name: string;
}

export interface CameraTarget {
  width: number;
  height: number;
  fps: number;
}

/** Whether a discovered camera is the one `match` names (serial and bus path exactly, name in part). */
export function matchesCamera(camera: CameraInfo, match: string): boolean {
  return camera.serial === match || camera.busPath === match || camera.name.includes(match);
}

/** What status calls the rig's cameras (configured as elements). */
const RIG_NAMES: Record<CameraRole, string> = { room: 'rig test camera', document: 'rig document camera' };

/**
 * Finds the configured cameras that are connected now, the room camera first. Each is looked for
 * at every start (a camera replugged between consultations is found again). Throws NO_CAMERA,
 * saying what is missing and what each connected camera offers, when none can be used.
 */
export async function findCameras(options: {
  room: CameraConfig;
  document: DocumentCameraConfig;
  target: CameraTarget;
  /** The device monitor's cameras (asked only when a camera is to be discovered). */
  list: () => Promise<CameraInfo[]>;
}): Promise<FoundCamera[]> {
  const { room, document, target } = options;
  const cache: { listed: CameraInfo[] | null } = { listed: null };
  const discovered = async () => (cache.listed ??= await options.list());
  const usable = (c: CameraInfo, role: CameraRole): FoundCamera | null => {
    const choice = chooseMode(parseCameraCaps(c.caps), { ...target, link: 'usb2' });
    return choice && c.path
      ? {
          role,
          source: { kind: 'v4l2', devicePath: c.path, mode: choice.mode, fps: choice.fps },
          name: c.name,
        }
      : null;
  };
  const fromElements = (camera: ElementsCamera, role: CameraRole): FoundCamera | null =>
    camera.presencePath && !existsSync(camera.presencePath)
      ? null
      : { role, source: { kind: 'elements', elements: camera.elements }, name: RIG_NAMES[role] };

  const found: FoundCamera[] = [];
  if (room.kind === 'elements') {
    const camera = fromElements(room, 'room');
    if (camera) found.push(camera);
  } else {
    const isDocument = (c: CameraInfo) => document.kind === 'usb' && matchesCamera(c, document.match);
    for (const c of await discovered()) {
      const camera = isDocument(c) ? null : usable(c, 'room');
      if (camera) {
        found.push(camera);
        break;
      }
    }
  }
  if (document.kind === 'elements') {
    const camera = fromElements(document, 'document');
    if (camera) found.push(camera);
  } else if (document.kind === 'usb') {
    const match = (await discovered()).find((c) => matchesCamera(c, document.match));
    const camera = match ? usable(match, 'document') : null;
    if (camera) found.push(camera);
  }
  if (found.length > 0) return found;

  const listed = cache.listed ?? [];
  if (listed.length === 0) throw new VideoError('NO_CAMERA', 'no camera is connected');
  // Say what each camera offers, so a technician knows which device to replace.
  const offers = listed.map((c) => {
    const media = [...new Set(c.caps.split(';').map((s) => s.trim().split(',')[0]!.trim()))].filter(Boolean);
    return `${c.name} (${media.join(', ') || 'nothing'})`;
  });
  throw new VideoError(
    'NO_CAMERA',
    `no camera offers a usable mode: ${offers.join('; ')}; connect a UVC camera with YUY2/NV12, MJPEG or H.264 at ${target.width}×${target.height} or near`,
  );
}
