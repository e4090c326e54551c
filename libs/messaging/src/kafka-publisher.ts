import { Partitioners, type Producer } from 'kafkajs';
import { encodeEvent, TriageCompletedSchema, TriageFailedSchema } from './event-codec.js';
import type { TriageCompleted, TriageFailed } from './generated/covidtriage/events/v1/events_pb.js';
import { kafkaAccessRefusal } from './kafka-access.js';
import { createKafkaClient, type KafkaConnection } from './kafka-connection.js';
import type { ConsumedMessage } from './kafka-consumer.js';
import type { KafkaLog } from './kafka-log.js';

/** Headers of a dead-letter record, beside the original message's own headers. */
export const DEAD_LETTER_HEADERS = {
  reason: 'dead-letter-reason',
  code: 'dead-letter-code',
  attempts: 'dead-letter-attempts',
  sourceTopic: 'dead-letter-source-topic',
  sourcePartition: 'dead-letter-source-partition',
  sourceOffset: 'dead-letter-source-offset',
  failedAt: 'dead-letter-failed-at',
  correlationId: 'dead-letter-correlation-id',
} as const;

export interface DeadLetterReason {
  code: string;
  /** Without patient data. */
  message: string;
  attempts: number;
  /** The TriageFailed event id that answered it, when one was published. */
  correlationId?: string;
}

export interface KafkaPublisherOptions {
  connection: KafkaConnection;
  topics: { triageCompleted: string; triageFailed: string; deadLetter: string };
  log: KafkaLog;
}

/**
 * Publishes the worker's answers: TriageCompleted, TriageFailed and dead-letter records.
 * The producer is idempotent (no duplicates from its own retries) and waits for every
 * in-sync replica, so a resolved send is on the broker before the offset is committed.
 */
export class KafkaEventPublisher {
  private readonly producer: Producer;
  private connected = false;

  constructor(private readonly options: KafkaPublisherOptions) {
    const kafka = createKafkaClient(options.connection, options.log);
    this.producer = kafka.producer({
      // Topics are the operators' (partitions, replication, ACLs): a result topic deleted by
      // mistake must stop the answers visibly (readiness, redelivery), not come back with
      // the broker's defaults.
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const { CONNECT, DISCONNECT } = this.producer.events;
    this.producer.on(CONNECT, () => (this.connected = true));
    this.producer.on(DISCONNECT, () => (this.connected = false));
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /**
   * Connects; a broker that is still starting gets a few attempts with backoff, a broker
   * refusing our credentials or certificates (KafkaAccessError) none.
   */
  async connect(attempts = 5): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.producer.connect();
        return;
      } catch (error) {
        const refused = kafkaAccessRefusal(error, this.options.connection, { fresh: false });
        if (refused) throw refused;
        if (attempt >= attempts) throw error;
        this.options.log('warn', `producer cannot connect: ${(error as Error).message}; retrying`, { attempt });
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }

  async publishCompleted(event: TriageCompleted): Promise<void> {
    const { value, headers } = encodeEvent(TriageCompletedSchema, event);
    await this.producer.send({
      topic: this.options.topics.triageCompleted,
      acks: -1,
      messages: [{ key: event.studyInstanceUid, value, headers }],
    });
  }

  async publishFailed(event: TriageFailed): Promise<void> {
    const { value, headers } = encodeEvent(TriageFailedSchema, event);
    await this.producer.send({
      topic: this.options.topics.triageFailed,
      acks: -1,
      messages: [{ key: event.studyInstanceUid || null, value, headers }],
    });
  }

  /** The original message, byte for byte and with its key and headers, plus why it was parked. */
  async publishDeadLetter(original: ConsumedMessage, reason: DeadLetterReason): Promise<void> {
    await this.producer.send({
      topic: this.options.topics.deadLetter,
      acks: -1,
      messages: [
        {
          key: original.key,
          value: original.value,
          headers: {
            ...original.headers,
            [DEAD_LETTER_HEADERS.reason]: reason.message,
            [DEAD_LETTER_HEADERS.code]: reason.code,
            [DEAD_LETTER_HEADERS.attempts]: String(reason.attempts),
            [DEAD_LETTER_HEADERS.sourceTopic]: original.topic,
            [DEAD_LETTER_HEADERS.sourcePartition]: String(original.partition),
            [DEAD_LETTER_HEADERS.sourceOffset]: original.offset,
            [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
            ...(reason.correlationId ? { [DEAD_LETTER_HEADERS.correlationId]: reason.correlationId } : {}),
          },
        },
      ],
    });
  }
}
