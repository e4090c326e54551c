import { authorizedFetch, fetchFailureCode, type AuthProvider } from '@app/credentials';
import { isDicomUid } from '@app/dicom';
import { AccessRefusedError, PermanentError, TransientError } from '@app/errors';
import type { InstanceNotification } from '../../notification.js';
import type { NotificationBatch, PolledNotificationSource, SourceReport } from '../../ports.js';

/**
 * The Azure DICOM service's change feed, API v2 (https://learn.microsoft.com/azure/healthcare-apis/dicom/change-feed-overview):
 * `GET {service}/v2/changefeed?startTime=&offset=&limit=&includeMetadata=false`, a JSON array of
 * {Sequence, StudyInstanceUid, SeriesInstanceUid, SopInstanceUid, Action, Timestamp, State}
 * ordered by Sequence; v2's `offset` counts entries skipped within the time window. The durable
 * cursor is the last Sequence handled and its Timestamp: the next poll starts at that Timestamp
 * and skips what is not past that Sequence. Without a cursor it starts at `/changefeed/latest`
 * (announces what arrives from now on). Deletes and deleted instances are not notifications.
 */

interface ChangeFeedEntry {
  Sequence: number;
  StudyInstanceUid?: string;
  SeriesInstanceUid?: string;
  SopInstanceUid?: string;
  Action?: string;
  Timestamp?: string;
  State?: string;
}

interface Cursor {
  sequence: number;
  time: string;
}

export interface ChangeFeedOptions {
  store: string;
  /** The service root with its version, e.g. https://ws-dicom.dicom.azurehealthcareapis.com/v2 (DICOMWEB_BASE_URL). */
  serviceUrl: string;
  auth: AuthProvider;
  report: SourceReport;
  /** Entries per request. */
  limit?: number;
  fetch?: typeof fetch;
}

const REQUEST_TIMEOUT_MS = 15_000;
/** Pages read within one timestamp before giving up the poll (a burst of more entries than this in one tick of the clock). */
const MAX_SKIPPED_PAGES = 20;

export class AzureChangeFeedSource implements PolledNotificationSource {
  readonly kind = 'polled';
  readonly name = 'azure-change-feed';
  private readonly fetch: ReturnType<typeof authorizedFetch>;
  private readonly limit: number;

  constructor(private readonly options: ChangeFeedOptions) {
    this.fetch = authorizedFetch(options.auth, options.fetch);
    this.limit = options.limit ?? 200;
  }

  async poll(cursorText: string | undefined, signal: AbortSignal): Promise<NotificationBatch> {
    if (cursorText === undefined) {
      const latest = await this.get<ChangeFeedEntry | null>('/changefeed/latest', signal);
      const cursor: Cursor = latest?.Timestamp
        ? { sequence: latest.Sequence, time: latest.Timestamp }
        : { sequence: 0, time: new Date().toISOString() };
      return { notifications: [], cursor: JSON.stringify(cursor), more: false };
    }
    const cursor = parseCursor(cursorText);
    for (let page = 0; page < MAX_SKIPPED_PAGES; page++) {
      const query = new URLSearchParams({
        startTime: cursor.time,
        offset: String(page * this.limit),
        limit: String(this.limit),
        includeMetadata: 'false',
      });
      const entries = await this.get<ChangeFeedEntry[]>(`/changefeed?${query.toString()}`, signal);
      if (!Array.isArray(entries)) throw new TransientError('the change feed answered something that is not an array');
      const fresh = entries.filter((entry) => entry.Sequence > cursor.sequence);
      if (fresh.length === 0 && entries.length === this.limit) continue; // a full page already handled
      return this.batch(fresh, cursor, entries.length === this.limit);
    }
    throw new TransientError(`more than ${MAX_SKIPPED_PAGES * this.limit} change feed entries share one timestamp`);
  }

  private batch(entries: ChangeFeedEntry[], cursor: Cursor, more: boolean): NotificationBatch {
    const notifications: InstanceNotification[] = [];
    let last = cursor;
    for (const entry of entries.toSorted((a, b) => a.Sequence - b.Sequence)) {
      last = { sequence: entry.Sequence, time: entry.Timestamp ?? last.time };
      if (entry.Action === 'delete' || entry.State === 'deleted') continue;
      const { StudyInstanceUid: study, SeriesInstanceUid: series, SopInstanceUid: sop } = entry;
      if (![study, series, sop].every((uid) => typeof uid === 'string' && isDicomUid(uid))) {
        // Logged and passed: the feed is ordered, one bad entry must not stop the cursor forever.
        this.options.report.malformed('change feed entry without valid UIDs', { sequence: entry.Sequence });
        continue;
      }
      notifications.push({
        store: this.options.store,
        level: 'instance',
        studyInstanceUid: study!,
        seriesInstanceUid: series!,
        sopInstanceUid: sop!,
      });
    }
    return { notifications, cursor: JSON.stringify(last), more };
  }

  private async get<T>(path: string, signal: AbortSignal): Promise<T> {
    let response: Response;
    try {
      response = await this.fetch(`${this.options.serviceUrl}${path}`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
    } catch (error) {
      throw new TransientError(`the DICOM service is unreachable (${fetchFailureCode(error)})`, { cause: error });
    }
    if (!response.ok) {
      await response.body?.cancel();
      if (response.status === 401 || response.status === 403) {
        throw new AccessRefusedError(
          `the DICOM service refused our credentials (HTTP ${response.status})`,
          response.status,
        );
      }
      if (response.status === 429 || response.status >= 500) {
        throw new TransientError(`the change feed answered HTTP ${response.status}`);
      }
      throw new PermanentError('INTERNAL', `the change feed answered HTTP ${response.status} to ${path.split('?')[0]}`);
    }
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new TransientError('the change feed answered unreadable JSON', { cause: error });
    }
  }
}

function parseCursor(text: string): Cursor {
  const cursor = JSON.parse(text) as Partial<Cursor>;
  if (typeof cursor.sequence !== 'number' || typeof cursor.time !== 'string') {
    throw new PermanentError('INTERNAL', `unreadable change feed cursor ${text.slice(0, 80)}`);
  }
  return { sequence: cursor.sequence, time: cursor.time };
}
