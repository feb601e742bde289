export interface PdfPage {
  jpeg: Uint8Array;
  width: number;
  height: number;
  /** Scan resolution: the page's printed size is pixels ÷ dpi. */
  dpi: number;
}

type PdfLib = typeof import('@cantoo/pdf-lib');

/**
 * pdf-lib (the maintained fork, @cantoo/pdf-lib), loaded on first use: it costs about 0.3 s of
 * start-up, and most starts never send a document. It ships ES modules, so Node and the shipped
 * bundle (esbuild) see the same named exports.
 */
export function loadPdfLib(): Promise<PdfLib> {
  return import('@cantoo/pdf-lib');
}

/**
 * One PDF of the scanned pages, in order, each page the size of the paper scanned (1 pt = 1/72 in)
 * with its JPEG drawn over the whole page: the JPEG bytes go in unchanged (DCTDecode), so the PDF
 * is barely larger than its pages.
 */
export async function buildPdf(
  pages: readonly PdfPage[],
  meta: {
    title: string;
    createdAt: Date;
    /**
     * Unique per document made: the same paper scanned twice (for two patients) must be two
     * documents, and the store treats identical bytes as the same capture received again.
     */
    documentId: string;
  },
): Promise<Uint8Array> {
  if (pages.length === 0) throw new Error('a document needs at least one page');
  const { PDFDocument } = await loadPdfLib();
  const pdf = await PDFDocument.create();
  pdf.setTitle(meta.title);
  pdf.setCreator('Telemed Terminal');
  pdf.setKeywords([`telemed-document:${meta.documentId}`]);
  pdf.setProducer('Telemed Terminal (pdf-lib)');
  pdf.setCreationDate(meta.createdAt);
  pdf.setModificationDate(meta.createdAt);
  for (const page of pages) {
    const image = await pdf.embedJpg(page.jpeg);
    const width = (page.width / page.dpi) * 72;
    const height = (page.height / page.dpi) * 72;
    pdf.addPage([width, height]).drawImage(image, { x: 0, y: 0, width, height });
  }
  return pdf.save({ useObjectStreams: false });
}
