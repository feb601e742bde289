import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import dcmjs from 'dcmjs';
import { DicomEncodeError } from '../src/dicom/ecg-waveform.ts';
import { encodeVideoPhotographic, type VideoSegmentInput } from '../src/dicom/video-photographic.ts';
import { mp4TrackHandlers } from '../src/media/mp4-boxes.ts';

const dir = mkdtempSync(join(tmpdir(), 'vp-'));

/**
 * A real segment from GStreamer: x264 video (as the software fallback encodes) with AAC sound in
 * an MP4, and the same video as an Annex B byte stream (what the remux writes beside it).
 */
function segment(frames: number): { stream: Uint8Array; container: Uint8Array } {
  const mp4 = join(dir, `s${frames}.mp4`);
  const annexB = join(dir, `s${frames}.h264`);
  // Sound a little shorter than the picture (1024-sample buffers at 44.1 kHz): the demuxer below
  // links only the video, and would stop at an unlinked pad with nothing else left to play.
  const audioBuffers = Math.max(1, Math.floor((frames / 30) * 43) - 2);
  execFileSync('gst-launch-1.0', [
    '-q',
    ...['videotestsrc', `num-buffers=${frames}`, '!', 'video/x-raw,width=320,height=240,framerate=30/1'],
    ...['!', 'videoconvert', '!', 'x264enc', 'key-int-max=30', 'bframes=0', '!', 'h264parse', '!', 'm.'],
    ...[
      'audiotestsrc',
      `num-buffers=${audioBuffers}`,
      '!',
      'audioconvert',
      '!',
      'avenc_aac',
      '!',
      'aacparse',
      '!',
      'm.',
    ],
    ...['mp4mux', 'name=m', 'faststart=true', '!', 'filesink', `location=${mp4}`],
  ]);
  execFileSync('gst-launch-1.0', [
    '-q',
    ...['filesrc', `location=${mp4}`, '!', 'qtdemux', 'name=d', 'd.video_0', '!', 'h264parse', '!'],
    ...['video/x-h264,stream-format=byte-stream,alignment=au', '!', 'filesink', `location=${annexB}`],
  ]);
  return { stream: new Uint8Array(readFileSync(annexB)), container: new Uint8Array(readFileSync(mp4)) };
}

const input = (stream: Uint8Array, container: Uint8Array): VideoSegmentInput => ({
  stream,
  container,
  width: 320,
  height: 240,
  fps: 30,
  uids: { study: '1.2.3.4', series: '1.2.3.4.5', sop: '1.2.3.4.5.6' },
  instanceNumber: 2,
  seriesNumber: 3,
  takenAt: '2026-11-28T10:20:30',
  patient: { id: 'P-9', name: '王^芳', birthDate: '1970-01-02', sex: 'F' },
  stationName: 'T-1',
  institutionName: '测试卫生院',
  seriesDescription: 'Consultation video',
  originalSha256: 'ab'.repeat(32),
});

test('a segment becomes Video Photographic in the H.264 transfer syntax: its MP4 in one fragment, frames counted', (t) => {
  const { stream, container } = segment(30);
  const bytes = encodeVideoPhotographic(input(stream, container));
  const file = join(dir, 'seg.dcm');
  writeFileSync(file, bytes);
  const dump = execFileSync(
    'dcmdump',
    ['+P', '0002,0010', '+P', '0008,0016', '+P', '0028,0008', '+P', '0028,0004', file],
    {
      encoding: 'utf8',
    },
  );
  // dcmdump names the UIDs: 1.2.840.10008.1.2.4.102 and 1.2.840.10008.5.1.4.1.1.77.1.4.1.
  t.regex(dump, /=MPEG4HighProfile\/Level4\.1 .*TransferSyntaxUID/);
  t.regex(dump, /=VideoPhotographicImageStorage .*SOPClassUID/);
  t.regex(dump, /\[30\]/, 'NumberOfFrames 30');
  t.regex(dump, /YBR_PARTIAL_420/);
  const full = execFileSync('dcmdump', [file], { encoding: 'utf8' });
  const items = full.match(/\(fffe,e000\) pi/g) ?? [];
  t.is(items.length, 2, 'the empty offset table and one fragment');
  // The provenance block: the capture's SHA-256 under the terminal's private creator.
  t.regex(full, /\(0099,0010\) LO \[TELEMED TERMINAL 1\.0\]/);
  t.regex(full, new RegExp(`\\(0099,1003\\) LO \\[${'ab'.repeat(32)}\\]`));

  const read = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(0) as ArrayBuffer);
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(read.dict);
  t.is(ds['Rows'], 240);
  t.is(ds['FrameIncrementPointer'], 0x00181063);
  const pixel = new Uint8Array((ds['PixelData'] as ArrayBuffer[])[0]!);
  t.deepEqual(Buffer.from(pixel.subarray(0, container.length)), Buffer.from(container), 'the MP4 as remuxed');
  t.deepEqual(mp4TrackHandlers(pixel), ['vide', 'soun'], 'picture and sound');
});

test('not H.264, a stream without parameter sets, or no MP4 around it, is refused with the reason', (t) => {
  const { stream, container } = segment(5);
  t.throws(() => encodeVideoPhotographic(input(Uint8Array.of(1, 2, 3), container)), {
    instanceOf: DicomEncodeError,
    message: /segment is not H.264: no start code/,
  });
  t.throws(() => encodeVideoPhotographic(input(Uint8Array.of(0, 0, 1, 0x41, 0x9a, 0), container)), {
    message: /no SPS\/PPS/,
  });
  t.throws(() => encodeVideoPhotographic(input(stream, stream)), {
    instanceOf: DicomEncodeError,
    message: /segment container: bytes at 0 are not an MP4 box/,
  });
});
