import { Catch, Inject, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { from, type Observable } from 'rxjs';
import { NoUsableSeriesError } from '@app/dicom';
import { asTriageError } from '@app/errors';
import {
  decodeStudyAvailable,
  newTriageFailed,
  type KafkaDeliveryContext,
  type MessageDisposition,
  type StudyAvailable,
} from '@app/messaging';
import { JsonLogger } from './json-logger.js';
import { PartitionLostError } from './partition-lost.error.js';
import { RetryLaterError } from './retry-later.error.js';
import type { ResultPublisher } from './ports.js';
import { RESULT_PUBLISHER } from './tokens.js';

/**
 * Whatever a StudyAvailable handler throws ends here. Interrupted by shutdown, or the partition
 * lost in a rebalance before the write-back: 'leave' (the next owner redoes it). Written back
 * but TriageCompleted refused by the broker, or retries run out during an outage of the archive
 * or the FHIR server (a RetryLaterError): 'retry' (fetched again after a pause). Anything else
 * is parked: TriageFailed, then the original message
 * with the reason on the dead-letter topic, then 'commit'. If the broker refuses those, the
 * error travels on and the transport fetches the message again after a pause.
 */
@Catch()
export class TriageFailureFilter implements RpcExceptionFilter {
  constructor(
    @Inject(RESULT_PUBLISHER) private readonly publisher: ResultPublisher,
    @Inject(JsonLogger) private readonly log: JsonLogger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<MessageDisposition> {
    return from(this.settle(exception, host.switchToRpc().getContext<KafkaDeliveryContext>()));
  }

  private async settle(exception: unknown, delivery: KafkaDeliveryContext): Promise<MessageDisposition> {
    const message = delivery.getMessage();
    const event = decodedOrUndefined(message.value);
    const attempts = delivery.getAttempts();
    const log = this.log.child({
      ...(event ? { studyInstanceUid: event.studyInstanceUid, eventId: event.eventId } : {}),
      partition: message.partition,
      offset: message.offset,
    });
    if (delivery.getSignal().aborted) {
      log.write('warn', 'interrupted by shutdown; left uncommitted for redelivery', { attempts });
      return 'leave';
    }
    if (exception instanceof PartitionLostError) {
      log.write('warn', 'the group rebalanced during the study; nothing written back, left to the new owner');
      return 'leave';
    }
    if (exception instanceof RetryLaterError) {
      log.write('error', 'not finished, not failed: fetching the message again after a pause', {
        why: exception.name,
        error: exception.message,
      });
      return 'retry';
    }
    const error = asTriageError(exception);
    const rejected = error instanceof NoUsableSeriesError ? error.rejected : [];
    const failed = newTriageFailed({
      correlationId: event?.eventId ?? '',
      studyInstanceUid: event?.studyInstanceUid ?? '',
      code: error.code,
      message: error.message,
      attempts,
      rejectedSeries: rejected.map((r) => ({ seriesInstanceUid: r.seriesInstanceUid, reason: r.reason })),
    });
    await this.publisher.publishFailed(failed);
    await this.publisher.publishDeadLetter(message, {
      code: error.code,
      message: error.message,
      attempts,
      correlationId: failed.eventId,
    });
    log.write(error.transient ? 'error' : 'warn', 'triage failed; parked on the dead-letter topic', {
      code: error.code,
      error: error.message,
      attempts,
      triageFailedEventId: failed.eventId,
    });
    return 'commit';
  }
}

function decodedOrUndefined(value: Buffer | null): StudyAvailable | undefined {
  try {
    return decodeStudyAvailable(value);
  } catch {
    return undefined;
  }
}
