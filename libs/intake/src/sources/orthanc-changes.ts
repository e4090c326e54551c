import { authorizedFetch, fetchFailureCode, type AuthProvider } from '@app/credentials';
import { AccessRefusedError, PermanentError, TransientError } from '@app/errors';
import type { InstanceNotification } from '../notification.js';
import type { NotificationBatch, PolledNotificationSource } from '../ports.js';

/**
 * Orthanc's change log, `GET /changes?since=&limit=` (its REST API, not DICOMweb). NewInstance,
 * NewSeries and StableStudy name Orthanc's own resource IDs, so each is resolved to DICOM UIDs
 * (`/instances/{id}`, `/series/{id}`, `/studies/{id}`; series and studies cached). The cursor is
 * `Last`; sequence numbers have gaps (a deleted resource's changes disappear), so a resource that
 * answers 404 is skipped. Without a cursor the source starts at the end of the log: the intake
 * announces what arrives from now on (docs/intake.md).
 */

interface OrthancChange {
  ChangeType: string;
  ID: string;
  ResourceType: string;
  Seq: number;
}

interface OrthancChanges {
  Changes: OrthancChange[];
  Done: boolean;
  Last: number;
}

const WATCHED = new Set(['NewInstance', 'NewSeries', 'StableSeries', 'StableStudy']);
const PAGE = 200;
const REQUEST_TIMEOUT_MS = 15_000;
/** Resolved series and studies kept for the next changes (a study's instances name the same series). */
const CACHE_LIMIT = 10_000;

export interface OrthancChangesOptions {
  store: string;
  /** Orthanc's REST root, e.g. http://orthanc:8042. */
  baseUrl: string;
  auth: AuthProvider;
  fetch?: typeof fetch;
}

export class OrthancChangesSource implements PolledNotificationSource {
  readonly kind = 'polled';
  readonly name = 'orthanc';
  private readonly fetch: ReturnType<typeof authorizedFetch>;
  private readonly series = new Map<string, { studyId: string; seriesInstanceUid: string }>();
  private readonly studies = new Map<string, string>();

  constructor(private readonly options: OrthancChangesOptions) {
    this.fetch = authorizedFetch(options.auth, options.fetch);
  }

  async poll(cursor: string | undefined, signal: AbortSignal): Promise<NotificationBatch> {
    if (cursor === undefined) {
      const tail = await this.get<OrthancChanges>('/changes?last', signal);
      return { notifications: [], cursor: String(tail.Last), more: false };
    }
    const since = Number(cursor);
    const page = await this.get<OrthancChanges>(`/changes?since=${since}&limit=${PAGE}`, signal);
    const notifications: InstanceNotification[] = [];
    for (const change of page.Changes) {
      if (!WATCHED.has(change.ChangeType)) continue;
      const notification = await this.resolve(change, signal);
      if (notification) notifications.push(notification);
    }
    return { notifications, cursor: String(Math.max(since, page.Last)), more: !page.Done };
  }

  private async resolve(change: OrthancChange, signal: AbortSignal): Promise<InstanceNotification | undefined> {
    const store = this.options.store;
    switch (change.ResourceType) {
      case 'Instance': {
        const instance = await this.get<{ ParentSeries: string; MainDicomTags: { SOPInstanceUID?: string } }>(
          `/instances/${change.ID}`,
          signal,
          true,
        );
        const series = instance && (await this.seriesOf(instance.ParentSeries, signal));
        if (!series) return undefined;
        const sopInstanceUid = instance.MainDicomTags.SOPInstanceUID;
        return { store, level: 'instance', ...series, ...(sopInstanceUid ? { sopInstanceUid } : {}) };
      }
      case 'Series': {
        const series = await this.seriesOf(change.ID, signal);
        return series && { store, level: 'series', ...series };
      }
      case 'Study': {
        const studyInstanceUid = await this.studyOf(change.ID, signal);
        return studyInstanceUid === undefined ? undefined : { store, level: 'study', studyInstanceUid };
      }
      default:
        return undefined;
    }
  }

  private async seriesOf(id: string, signal: AbortSignal) {
    let series = this.series.get(id);
    if (!series) {
      const found = await this.get<{ ParentStudy: string; MainDicomTags: { SeriesInstanceUID?: string } }>(
        `/series/${id}`,
        signal,
        true,
      );
      if (!found?.MainDicomTags.SeriesInstanceUID) return undefined;
      series = { studyId: found.ParentStudy, seriesInstanceUid: found.MainDicomTags.SeriesInstanceUID };
      remember(this.series, id, series);
    }
    const studyInstanceUid = await this.studyOf(series.studyId, signal);
    return studyInstanceUid === undefined
      ? undefined
      : { studyInstanceUid, seriesInstanceUid: series.seriesInstanceUid };
  }

  private async studyOf(id: string, signal: AbortSignal): Promise<string | undefined> {
    const cached = this.studies.get(id);
    if (cached) return cached;
    const study = await this.get<{ MainDicomTags: { StudyInstanceUID?: string } }>(`/studies/${id}`, signal, true);
    const uid = study?.MainDicomTags.StudyInstanceUID;
    if (uid) remember(this.studies, id, uid);
    return uid;
  }

  private async get<T>(path: string, signal: AbortSignal, gone: true): Promise<T | undefined>;
  private async get<T>(path: string, signal: AbortSignal): Promise<T>;
  private async get<T>(path: string, signal: AbortSignal, gone = false): Promise<T | undefined> {
    let response: Response;
    try {
      response = await this.fetch(`${this.options.baseUrl}${path}`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
    } catch (error) {
      throw new TransientError(`Orthanc unreachable (${fetchFailureCode(error)})`, { cause: error });
    }
    if (response.status === 404 && gone) {
      await response.body?.cancel();
      return undefined; // deleted since the change was logged
    }
    if (!response.ok) {
      await response.body?.cancel();
      if (response.status === 401 || response.status === 403) {
        throw new AccessRefusedError(`Orthanc refused our credentials (HTTP ${response.status})`, response.status);
      }
      if (response.status === 429 || response.status >= 500) {
        throw new TransientError(`Orthanc answered HTTP ${response.status}`);
      }
      throw new PermanentError('INTERNAL', `Orthanc answered HTTP ${response.status} to ${path.split('?')[0]}`);
    }
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new TransientError('Orthanc answered with unreadable JSON', { cause: error });
    }
  }
}

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}
