import dcmjs from 'dcmjs';
import { PRIVATE_TAGS } from './sop-classes.ts';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

export interface ReadBackLead {
  code: string;
  meaning: string;
  sensitivityUv: number;
  samples: Int16Array;
}

export interface ReadBackEcg {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  patientId: string;
  patientName: string;
  samplingFrequency: number;
  leads: ReadBackLead[];
  originalScp: Uint8Array | null;
}

function first<T>(value: unknown): T {
  return (Array.isArray(value) ? value[0] : value) as T;
}

/** Reads an ECG waveform instance back (tests, and checking what a data centre stored). */
export function readEcgWaveform(bytes: Uint8Array): ReadBackEcg {
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const dict = DicomMessage.readFile(copy);
  const raw = dict.dict;
  const ds = DicomMetaDictionary.naturalizeDataset(raw) as Record<string, unknown>;
  const waveform = first<Record<string, unknown>>(ds['WaveformSequence']);
  const channels = waveform['NumberOfWaveformChannels'] as number;
  const samples = waveform['NumberOfWaveformSamples'] as number;
  const data = new Int16Array(first<ArrayBuffer>(waveform['WaveformData']));
  const definitions = waveform['ChannelDefinitionSequence'] as Array<Record<string, unknown>>;
  const leads = definitions.map((def, c) => {
    const source = first<Record<string, string>>(def['ChannelSourceSequence']);
    const out = new Int16Array(samples);
    for (let t = 0; t < samples; t++) out[t] = data[t * channels + c]!;
    return {
      code: source['CodeValue']!,
      meaning: source['CodeMeaning']!,
      sensitivityUv: Number(def['ChannelSensitivity']),
      samples: out,
    };
  });
  const original = raw[PRIVATE_TAGS.originalScp]?.Value?.[0] as ArrayBuffer | undefined;
  const name = first<unknown>(ds['PatientName']);
  return {
    sopClassUid: ds['SOPClassUID'] as string,
    sopInstanceUid: ds['SOPInstanceUID'] as string,
    studyInstanceUid: ds['StudyInstanceUID'] as string,
    patientId: (ds['PatientID'] as string) ?? '',
    patientName:
      typeof name === 'object' && name !== null
        ? ((name as { Alphabetic?: string }).Alphabetic ?? '')
        : String(name ?? ''),
    samplingFrequency: Number(waveform['SamplingFrequency']),
    leads,
    originalScp: original ? new Uint8Array(original) : null,
  };
}
