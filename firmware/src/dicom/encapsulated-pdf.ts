import dcmjs from 'dcmjs';
import { type CameraImageCommon, captureDataset, provenanceElements, writePart10 } from './camera-image.ts';
import { DicomEncodeError } from './ecg-waveform.ts';
import { EXPLICIT_VR_LITTLE_ENDIAN, SOP_CLASS } from './sop-classes.ts';

const { DicomMetaDictionary } = dcmjs.data;

export interface EncapsulatedPdfInput
  extends Pick<
    CameraImageCommon,
    'uids' | 'takenAt' | 'seriesNumber' | 'patient' | 'stationName' | 'institutionName' | 'originalSha256'
  > {
  pdf: Uint8Array;
  /** Shown by viewers as the document's name (Document Title, ST: at most 1024 characters). */
  title: string;
  pages: number;
}

/**
 * Scanned pages as a DICOM Encapsulated PDF (PS3.3 A.45.1): Patient, General Study, Encapsulated
 * Document Series (Modality DOC), General and SC Equipment (Conversion Type SD, scanned document)
 * and Encapsulated Document modules. The PDF is carried unchanged; an odd-length PDF gets the one
 * trailing NUL the OB value needs, and Encapsulated Document Length (0042,0015) keeps its true
 * length so a reader can strip the pad (PS3.3 C.24.2.1).
 */
export function encodeEncapsulatedPdf(input: EncapsulatedPdfInput): Uint8Array {
  if (input.pdf.length < 5 || new TextDecoder().decode(input.pdf.subarray(0, 5)) !== '%PDF-')
    throw new DicomEncodeError('the document is not a PDF (no %PDF- header)');
  const padded = new Uint8Array(input.pdf.length + (input.pdf.length % 2));
  padded.set(input.pdf);
  const dataset = {
    ...captureDataset(
      {
        ...input,
        sopClassUid: SOP_CLASS.encapsulatedPdf,
        instanceNumber: 1,
        seriesDescription: `Scanned document (${input.pages} ${input.pages === 1 ? 'page' : 'pages'})`,
      },
      'DOC',
    ),
    ConversionType: 'SD',
    // A scan shows whatever is printed on the paper, names included.
    BurnedInAnnotation: 'YES',
    DocumentTitle: input.title.slice(0, 1024),
    ConceptNameCodeSequence: [],
    MIMETypeOfEncapsulatedDocument: 'application/pdf',
    EncapsulatedDocumentLength: input.pdf.length,
  };
  const elements = {
    ...DicomMetaDictionary.denaturalizeDataset(dataset),
    ...provenanceElements(input.originalSha256),
  };
  elements['00420011'] = { vr: 'OB', Value: [padded.buffer] };
  return writePart10(elements, SOP_CLASS.encapsulatedPdf, input.uids.sop, EXPLICIT_VR_LITTLE_ENDIAN);
}
