import { Controller, Inject, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import {
  checkEventType,
  KafkaDeliveryContext,
  STUDY_AVAILABLE,
  StudyAvailableSchema,
  type MessageDisposition,
  type StudyAvailable,
} from '@app/messaging';
import { JsonLogger } from './json-logger.js';
import { StudyAvailablePipe } from './study-available.pipe.js';
import { StudyTriageService } from './study-triage.service.js';
import { TriageFailureFilter } from './triage-failure.filter.js';

/**
 * StudyAvailable in. Every message ends in one of: 'commit' after TriageCompleted (or when the
 * study needed no work); 'commit' after TriageFailed and a dead-letter record (the filter:
 * bad input, a permanent failure, or transient ones that outlasted every retry); 'leave'
 * when shutdown's deadline interrupted it (the filter); 'retry' when even parking failed
 * (the broker refused our answers): the transport fetches it again after a pause.
 */
@Controller()
@UseFilters(TriageFailureFilter)
export class StudyAvailableController {
  constructor(
    @Inject(StudyTriageService) private readonly triage: StudyTriageService,
    @Inject(JsonLogger) private readonly log: JsonLogger,
  ) {}

  // The type argument keeps TS from checking @Ctx's type against the decorator's (TS1241).
  // oxlint-disable-next-line typescript/no-unnecessary-type-arguments
  @EventPattern<string>(STUDY_AVAILABLE)
  async onStudyAvailable(
    @Payload(StudyAvailablePipe) event: StudyAvailable,
    @Ctx() delivery: KafkaDeliveryContext,
  ): Promise<MessageDisposition> {
    const { partition, offset, headers } = delivery.getMessage();
    checkEventType(headers, StudyAvailableSchema);
    const log = this.log.child({ studyInstanceUid: event.studyInstanceUid, eventId: event.eventId, partition, offset });
    const deliveries = delivery.getDeliveries();
    log.info('study available', { source: event.source, seriesHints: event.seriesInstanceUids.length, deliveries });
    await this.triage.triage({
      event,
      signal: delivery.getSignal(),
      log,
      deliveries,
      stillOwned: () => delivery.isStillOwner(),
      refetches: delivery.getRefetches(),
      onAttempt: (attempt) => delivery.recordAttempt(attempt),
    });
    return 'commit';
  }
}
