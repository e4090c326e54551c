import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncodedDicomObject } from '@app/dicom';
import { PermanentError } from '@app/errors';
import type { ArchiveReceipt, ArchiveSink, ReportReceipt, ReportSink } from '../ports.js';

/** Writes each object as `<folder>/seg.dcm`, `<folder>/sr.dcm` (the CLI's archive). */
export class FolderArchiveSink implements ArchiveSink {
  constructor(readonly label: string) {}

  async store(objects: readonly EncodedDicomObject[]): Promise<ArchiveReceipt> {
    await mkdir(this.label, { recursive: true });
    const receipt: ArchiveReceipt = { objects: [] };
    for (const object of objects) {
      const location = join(this.label, `${object.kind.toLowerCase()}.dcm`);
      await writeOrFail(location, object.bytes);
      receipt.objects.push({ sopInstanceUid: object.sopInstanceUid, location, duplicate: false });
    }
    return receipt;
  }
}

/** Writes the transaction Bundle as `<folder>/report.bundle.json` (the CLI's FHIR server). */
export class BundleFileReportSink implements ReportSink {
  constructor(readonly label: string) {}

  async write(bundle: fhir4.Bundle): Promise<ReportReceipt> {
    await mkdir(this.label, { recursive: true });
    const location = join(this.label, 'report.bundle.json');
    await writeOrFail(location, `${JSON.stringify(bundle, null, 2)}\n`);
    const report = bundle.entry?.find((entry) => entry.resource?.resourceType === 'DiagnosticReport');
    return {
      diagnosticReport: `${location}#${report?.fullUrl ?? 'DiagnosticReport'}`,
      created: true,
      references: (bundle.entry ?? []).map((entry) => `${location}#${entry.fullUrl ?? ''}`),
    };
  }
}

async function writeOrFail(path: string, data: Uint8Array | string): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (error) {
    throw new PermanentError('INTERNAL', `cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}
