import { GetImageSetMetadataCommand, type MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { gunzipSync } from 'node:zlib';
import { isDicomUid } from '@app/dicom';
import { TransientError } from '@app/errors';

/**
 * The DICOM UIDs of an image set, which HealthImaging's events do not carry: GetImageSetMetadata
 * answers a gzip-compressed JSON document, `Study.DICOM.StudyInstanceUID` and `Study.Series` keyed
 * by SeriesInstanceUID:
 * https://docs.aws.amazon.com/healthimaging/latest/APIReference/API_runtime_GetImageSetMetadata.html
 * https://docs.aws.amazon.com/healthimaging/latest/devguide/get-image-set-metadata.html
 */
export interface ImageSetStudy {
  studyInstanceUid: string;
  seriesInstanceUids: string[];
}

interface ImageSetMetadata {
  Study?: { DICOM?: { StudyInstanceUID?: unknown }; Series?: Record<string, unknown> };
}

/** undefined: the image set is gone (deleted since the event). TransientError: HealthImaging failed. */
export async function imageSetStudy(
  client: MedicalImagingClient,
  ids: { datastoreId: string; imageSetId: string },
  signal: AbortSignal,
): Promise<ImageSetStudy | undefined> {
  let bytes: Uint8Array;
  let encoding: string | undefined;
  try {
    const answer = await client.send(new GetImageSetMetadataCommand(ids), { abortSignal: signal });
    encoding = answer.contentEncoding;
    bytes = await answer.imageSetMetadataBlob.transformToByteArray();
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw new TransientError(`HealthImaging GetImageSetMetadata failed (${awsErrorName(error)})`, { cause: error });
  }
  let metadata: ImageSetMetadata;
  try {
    const text = (encoding === 'gzip' ? gunzipSync(bytes) : Buffer.from(bytes)).toString('utf8');
    metadata = JSON.parse(text) as ImageSetMetadata;
  } catch (error) {
    throw new TransientError('HealthImaging answered image set metadata that is not gzip JSON', { cause: error });
  }
  const study = metadata.Study?.DICOM?.StudyInstanceUID;
  if (typeof study !== 'string' || !isDicomUid(study)) return undefined;
  const series = Object.keys(metadata.Study?.Series ?? {}).filter((uid) => isDicomUid(uid));
  return { studyInstanceUid: study, seriesInstanceUids: series };
}

export function awsErrorName(error: unknown): string {
  const name = (error as { name?: unknown }).name;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return `${typeof name === 'string' ? name : 'error'}${status ? `, HTTP ${status}` : ''}`;
}
