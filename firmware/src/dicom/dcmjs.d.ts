// The parts of dcmjs (no published types) that the firmware uses.
declare module 'dcmjs' {
  export type DicomElement = { vr: string; Value: unknown[] };
  export type DenaturalizedDataset = Record<string, DicomElement>;
  export type NaturalDataset = Record<string, unknown>;
  export class DicomDict {
    constructor(meta: DenaturalizedDataset);
    dict: DenaturalizedDataset;
    meta: DenaturalizedDataset;
    write(options?: { allowInvalidVRLength?: boolean; fragmentMultiframe?: boolean }): ArrayBuffer;
  }
  const dcmjs: {
    data: {
      DicomDict: typeof DicomDict;
      DicomMessage: { readFile(buffer: ArrayBuffer, options?: { untilTag?: string }): DicomDict };
      DicomMetaDictionary: {
        naturalizeDataset(dataset: DenaturalizedDataset): NaturalDataset;
        denaturalizeDataset(dataset: NaturalDataset): DenaturalizedDataset;
      };
    };
  };
  export default dcmjs;
}
