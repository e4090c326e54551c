import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload, Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import {
  decodeStudyAvailable,
  encodeEvent,
  EVENT_TYPE_HEADER,
  newStudyAvailable,
  StudyAvailableSchema,
  type StudyAvailable,
} from '@app/messaging';
import { newUid } from '@app/dicom';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../support/stack.js';

/**
 * Kafka 4 removed old protocol versions (KIP-896). These tests prove that kafkajs,
 * the only client Nest's Kafka transport loads, still works with our broker.
 */
describe('Kafka broker with kafkajs (real server)', () => {
  const kafka = new Kafka({ clientId: 'smoke', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    admin = kafka.admin();
    producer = kafka.producer();
    await admin.connect();
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  it('creates a topic, produces keyed events and consumes them in a consumer group', async () => {
    const topic = `smoke.study-available.${Date.now()}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const events = Array.from({ length: 10 }, () => newStudyAvailable({ studyInstanceUid: newUid() }));
    await producer.send({
      topic,
      messages: events.map((event) => ({ key: event.studyInstanceUid, ...encodeEvent(StudyAvailableSchema, event) })),
    });

    const groupId = `smoke-${Date.now()}`;
    const consumer = kafka.consumer({ groupId });
    const received: { key: string; event: StudyAvailable; type: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push({
            key: message.key!.toString(),
            event: decodeStudyAvailable(message.value),
            type: String(message.headers?.[EVENT_TYPE_HEADER]),
          });
          if (received.length === events.length) resolve();
        },
      });
    });
    await done;
    // Every partition's committed offset reaches its end. kafkajs commits after each batch, a
    // moment after the last eachMessage: wait for that before leaving. A partition the keys left
    // empty has no commit at all (offset -1): summing raw offsets read 9 for 10 messages whenever
    // the 10 random keys missed one of the 3 partitions (about 1 run in 20).
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    const behind = async () => {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return entry.partitions.filter((p) => Math.max(0, Number(p.offset)) !== ends.get(p.partition));
    };
    for (let waited = 0; (await behind()).length > 0 && waited < 10_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await consumer.disconnect();

    expect(received.map((r) => r.event.eventId).toSorted()).toEqual(events.map((e) => e.eventId).toSorted());
    for (const { key, event, type } of received) {
      expect(key).toBe(event.studyInstanceUid);
      expect(type).toBe('covidtriage.events.v1.StudyAvailable');
    }
    expect([...ends.values()].reduce((sum, end) => sum + end, 0)).toBe(events.length);
    expect(await behind()).toEqual([]);
  });
});

describe('Nest Kafka transport (real server)', () => {
  const topic = `smoke.nest.${Date.now()}`;
  const received: StudyAvailable[] = [];
  let notify: (() => void) | undefined;

  @Controller()
  class SmokeController {
    // Without the explicit type argument Nest 12's decorator typing fails with TS1241.
    // oxlint-disable-next-line typescript/no-unnecessary-type-arguments
    @EventPattern<string>(topic)
    handle(@Payload() _payload: unknown, @Ctx() context: KafkaContext): void {
      // keepBinary hands over the raw bytes, so our codec, not Nest's parser, reads them.
      received.push(decodeStudyAvailable(context.getMessage().value));
      notify?.();
    }
  }

  let app: INestMicroservice;
  const kafka = new Kafka({ clientId: 'smoke-producer', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const moduleRef = await Test.createTestingModule({ controllers: [SmokeController] }).compile();
    app = moduleRef.createNestMicroservice({
      transport: Transport.KAFKA,
      options: {
        client: { clientId: 'smoke-nest', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING },
        consumer: { groupId: `smoke-nest-${Date.now()}` },
        subscribe: { fromBeginning: true },
        parser: { keepBinary: true },
      },
      logger: false,
    });
    await app.listen();
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await app?.close();
  });

  it('delivers a StudyAvailable to an @EventPattern handler', async () => {
    const event = newStudyAvailable({ studyInstanceUid: newUid(), source: 'smoke' });
    const arrived = new Promise<void>((resolve) => (notify = resolve));
    await producer.send({
      topic,
      messages: [{ key: event.studyInstanceUid, ...encodeEvent(StudyAvailableSchema, event) }],
    });
    await arrived;
    expect(received).toHaveLength(1);
    expect(received[0].eventId).toBe(event.eventId);
    expect(received[0].source).toBe('smoke');
  });
});
