import { randomUUID } from 'node:crypto';
import { Partitioners, type Producer } from 'kafkajs';
import { encodeEvent, StudyAvailableSchema } from './event-codec.js';
import type { StudyAvailable } from './generated/covidtriage/events/v1/events_pb.js';
import { kafkaAccessRefusal } from './kafka-access.js';
import { createKafkaClient, type KafkaConnection } from './kafka-connection.js';
import type { KafkaLog } from './kafka-log.js';

/**
 * The intake's durable memory: a compacted topic of one partition, keyed (pending studies,
 * published versions, the source's cursor), read back whole at start-up. Every change is
 * written in one Kafka transaction together with the StudyAvailable events it decided, so an
 * event is on the broker exactly when the state that remembers it is (consumers read committed,
 * kafkajs' default). The transactional id fences an older process with the same id.
 */

/** Keys of the barrier records readAll() writes (one per transactional id; compaction keeps the last). */
const RESTORE_BARRIER = 'restore-barrier';

export interface IntakeStateTopicOptions {
  connection: KafkaConnection;
  stateTopic: string;
  studyAvailableTopic: string;
  transactionalId: string;
  log: KafkaLog;
}

export interface StateWrite {
  key: string;
  /** undefined: a tombstone (compaction then drops the key). */
  value: Buffer | undefined;
}

export class IntakeStateTopic {
  private readonly producer: Producer;
  private connected = false;

  constructor(private readonly options: IntakeStateTopicOptions) {
    this.producer = createKafkaClient(options.connection, options.log).producer({
      allowAutoTopicCreation: false,
      transactionalId: options.transactionalId,
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

  /** Connects and checks the state topic: it must exist with one partition (ordering, one reader). */
  async connect(): Promise<void> {
    const admin = createKafkaClient(this.options.connection, this.options.log).admin();
    try {
      await admin.connect();
      const metadata = await admin.fetchTopicMetadata({ topics: [this.options.stateTopic] });
      const partitions = metadata.topics[0]?.partitions.length ?? 0;
      if (partitions !== 1) {
        throw new Error(
          `the state topic ${this.options.stateTopic} has ${partitions} partitions; it needs exactly one`,
        );
      }
    } catch (error) {
      const refused = kafkaAccessRefusal(error, this.options.connection, { fresh: true });
      throw refused ?? error;
    } finally {
      await admin.disconnect();
    }
    await this.producer.connect();
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }

  /**
   * Every key's latest value. The end is found by a barrier: a record of our own, written in a
   * transaction now and read back (offsets alone cannot say where the last committed record is:
   * transaction markers and aborted records take offsets too).
   */
  async readAll(): Promise<Map<string, Buffer>> {
    const barrierKey = `${RESTORE_BARRIER}/${this.options.transactionalId}`;
    const barrier = randomUUID();
    await this.commit([], [{ key: barrierKey, value: Buffer.from(barrier) }]);
    const state = new Map<string, Buffer>();
    // A throwaway group: nothing is committed, the position is always the beginning.
    const consumer = createKafkaClient(this.options.connection, this.options.log).consumer({
      groupId: `${this.options.transactionalId}-restore-${barrier}`,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: this.options.stateTopic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ message }) => {
              const key = message.key?.toString('utf8');
              if (key === undefined) return;
              if (key.startsWith(`${RESTORE_BARRIER}/`)) {
                if (key === barrierKey && message.value?.toString() === barrier) resolve();
                return;
              }
              if (message.value === null || message.value.length === 0) state.delete(key);
              else state.set(key, message.value);
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return state;
  }

  /** The events and the state changes they go with, all or nothing. */
  async commit(events: readonly StudyAvailable[], writes: readonly StateWrite[]): Promise<void> {
    if (events.length === 0 && writes.length === 0) return;
    const transaction = await this.producer.transaction();
    try {
      if (events.length > 0) {
        await transaction.send({
          topic: this.options.studyAvailableTopic,
          acks: -1,
          messages: events.map((event) => {
            const { value, headers } = encodeEvent(StudyAvailableSchema, event);
            return { key: event.studyInstanceUid, value, headers };
          }),
        });
      }
      if (writes.length > 0) {
        await transaction.send({
          topic: this.options.stateTopic,
          acks: -1,
          messages: writes.map((write) => ({ key: write.key, value: write.value ?? null })),
        });
      }
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  }
}
