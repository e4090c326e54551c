import { JsonAttributes } from '@app/dicom';
import type { DicomwebClient } from '@app/dicomweb';
import type { InstanceNotification } from '../notification.js';
import type { NotificationBatch, PolledNotificationSource } from '../ports.js';

/**
 * Any DICOMweb archive (dcm4chee included) that cannot notify: QIDO-RS searches the studies of
 * a StudyDate window (today and `lookbackDays` before it: the overlap that catches a study
 * dated yesterday but stored now, and one stored across midnight), with their series and
 * instance counts. A study is announced to the rules when it is new in the window or its counts
 * changed since the last poll; the counts seen are the cursor, so a repeat poll announces nothing.
 * A study whose StudyDate lies before the window, or that has none, is never seen.
 */

const PAGE = 200;
/** The cursor holds one entry per study of the window; beyond this the archive needs a push source. */
const MAX_STUDIES = 20_000;

export interface QidoStudyPollerOptions {
  store: string;
  client: DicomwebClient;
  lookbackDays: number;
  now?: () => Date;
}

export class QidoStudyPoller implements PolledNotificationSource {
  readonly kind = 'polled';
  readonly name = 'qido';

  constructor(private readonly options: QidoStudyPollerOptions) {}

  async poll(cursor: string | undefined, signal: AbortSignal): Promise<NotificationBatch> {
    const seen = cursor === undefined ? undefined : (JSON.parse(cursor) as { seen: Record<string, string> }).seen;
    const current = await this.studiesOfWindow(signal);
    const notifications: InstanceNotification[] = [];
    if (seen) {
      for (const [studyInstanceUid, counts] of Object.entries(current)) {
        if (seen[studyInstanceUid] !== counts) {
          notifications.push({ store: this.options.store, level: 'study', studyInstanceUid });
        }
      }
    }
    return { notifications, cursor: JSON.stringify({ seen: current }), more: false };
  }

  /** StudyInstanceUID → "series/instances" of every study in the window. */
  private async studiesOfWindow(signal: AbortSignal): Promise<Record<string, string>> {
    const now = this.options.now?.() ?? new Date();
    const from = new Date(now.getTime() - this.options.lookbackDays * 86_400_000);
    const studies: Record<string, string> = {};
    for (let offset = 0; offset < MAX_STUDIES; offset += PAGE) {
      const page = await this.options.client.searchStudies(
        {
          StudyDate: `${dicomDate(from)}-`,
          includefield: ['NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances'],
          limit: PAGE,
          offset,
        },
        { signal },
      );
      for (const dataset of page) {
        const attributes = new JsonAttributes(dataset);
        const uid = attributes.string('StudyInstanceUID');
        if (!uid) continue;
        const series = attributes.number('NumberOfStudyRelatedSeries') ?? 0;
        const instances = attributes.number('NumberOfStudyRelatedInstances') ?? 0;
        studies[uid] = `${series}/${instances}`;
      }
      if (page.length < PAGE) break;
    }
    return studies;
  }
}

function dicomDate(date: Date): string {
  return date.toISOString().slice(0, 10).replaceAll('-', '');
}
