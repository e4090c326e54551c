import type { EncodedDicomObject } from '@app/dicom';
import type { DicomwebClient } from '@app/dicomweb';
import { PermanentError, TransientError } from '@app/errors';
import type { ArchiveReceipt, ArchiveSink } from '../ports.js';

/** STOW reasons a later attempt may get past (PS3.4 B.2.3: processing failure, out of resources). */
const TRANSIENT_STOW_REASONS: ReadonlySet<number> = new Set([0x0110, 0xa700, 45071]);

/**
 * Stores our objects with STOW-RS into their study. An archive that already holds an
 * object (a re-run: same UIDs) answers "duplicate", which counts as stored.
 */
export class DicomwebArchiveSink implements ArchiveSink {
  constructor(private readonly client: DicomwebClient) {}

  get label(): string {
    return this.client.baseUrl;
  }

  async store(objects: readonly EncodedDicomObject[], options: { signal?: AbortSignal } = {}): Promise<ArchiveReceipt> {
    const studies = new Set(objects.map((o) => o.studyInstanceUid));
    if (studies.size !== 1) throw new PermanentError('INTERNAL', 'one STOW stores the objects of one study');
    const [studyInstanceUid] = studies;
    const result = await this.client.store(
      objects.map((o) => o.bytes),
      studyInstanceUid,
      options.signal ? { signal: options.signal } : {},
    );
    if (result.failed.length > 0) {
      const summary = result.failed
        .map((f) => `${f.sopInstanceUid ?? `object ${f.index ?? '?'}`}: ${f.description}`)
        .join('; ');
      const message = `the archive refused ${result.failed.length} of ${objects.length} objects: ${summary}`;
      if (result.failed.every((f) => f.reason !== undefined && TRANSIENT_STOW_REASONS.has(f.reason))) {
        throw new TransientError(message);
      }
      throw new PermanentError('INTERNAL', message);
    }
    return {
      objects: objects.map((object) => {
        const stored = result.stored.find((s) => s.sopInstanceUid === object.sopInstanceUid);
        return {
          sopInstanceUid: object.sopInstanceUid,
          location:
            stored?.retrieveUrl ??
            `${this.client.baseUrl}/studies/${object.studyInstanceUid}/series/${object.seriesInstanceUid}/instances/${object.sopInstanceUid}`,
          duplicate: stored?.duplicate ?? false,
        };
      }),
    };
  }
}
