import { Catch, Controller, Module, UseFilters, type INestMicroservice, type RpcExceptionFilter } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { of, type Observable } from 'rxjs';
import { KafkaStudyTransport, openKafkaConnection } from '@app/messaging';
import type { Consumer } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../support/stack.js';
import { committedOffset, createTopics, kafka, uniqueTopics, type WorkerTopics } from '../support/worker-harness.js';

/**
 * Why the worker runs on KafkaStudyTransport and not Nest's built-in ServerKafka, shown on
 * the real broker with the same handler on both: one that throws. ServerKafka hands the
 * exception to kafkajs, which crashes and restarts the consumer: the member rejoins its
 * group (a rebalance for every other member) and the message comes back at once, again
 * and again. Ours keeps the group as it is and fetches the message again after a growing
 * pause. (That an exception *filter* turns a failure into TriageFailed + dead-letter and
 * a commit is shown by the worker's own tests: e2e-worker.spec.ts, and the controller spec.)
 */

const OBSERVE_MS = 8_000;
const PATTERN = 'poison-test';

interface Observation {
  calls: number;
  /** kafkajs crashed and restarted the consumer (it rejoins the group: a rebalance). */
  restarts: number;
  groupJoins?: number;
  /** Partitions waiting to fetch the failed message again (readiness reports them). */
  retrying?: number[];
}

/** What TriageFailureFilter does once it has parked a failure: answer 'commit'. */
@Catch()
class ParkingFilter implements RpcExceptionFilter {
  catch(): Observable<'commit'> {
    return of('commit');
  }
}

function throwingController(pattern: string, seen: Observation, filtered = false) {
  @Controller()
  @UseFilters(...(filtered ? [ParkingFilter] : []))
  class ThrowingController {
    @EventPattern(pattern)
    onMessage(_data: unknown): void {
      seen.calls++;
      throw new Error('a handler that always fails');
    }
  }
  @Module({ controllers: [ThrowingController] })
  // oxlint-disable-next-line typescript/no-extraneous-class
  class PoisonModule {}
  return PoisonModule;
}

async function sendPoison(topics: WorkerTopics): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: topics.studyAvailable, messages: [{ value: '{"poison":true}' }] });
  await producer.disconnect();
}

function ourTransport(topics: WorkerTopics) {
  return new KafkaStudyTransport({
    connection: openKafkaConnection({
      brokers: stack.kafkaBrokers,
      clientId: 'transport-ours',
      security: { protocol: 'PLAINTEXT' },
    }),
    groupId: topics.groupId,
    patterns: { [topics.studyAvailable]: PATTERN },
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    concurrency: 1,
    shutdownDeadlineMs: 1_000,
    log: () => undefined,
  });
}

async function observe(app: INestMicroservice, beforeClose: () => void = () => undefined): Promise<void> {
  await app.listen();
  await new Promise((resolve) => setTimeout(resolve, OBSERVE_MS));
  beforeClose();
  await app.close();
}

const quiet = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };

describe("a handler that throws: Nest's ServerKafka vs KafkaStudyTransport", () => {
  const builtIn: Observation = { calls: 0, restarts: 0 };
  const ours: Observation = { calls: 0, restarts: 0, groupJoins: 0 };

  beforeAll(async () => {
    const a = uniqueTopics('transport-builtin');
    const b = uniqueTopics('transport-ours');
    await createTopics(a);
    await createTopics(b);
    await sendPoison(a);
    await sendPoison(b);

    const serverKafka = await NestFactory.createMicroservice<MicroserviceOptions>(
      throwingController(a.studyAvailable, builtIn),
      {
        transport: Transport.KAFKA,
        options: {
          client: { clientId: 'transport-builtin', brokers: stack.kafkaBrokers },
          consumer: { groupId: a.groupId },
          subscribe: { fromBeginning: true },
        },
        logger: quiet,
      },
    );
    await serverKafka.listen();
    const [, consumer] = serverKafka.unwrap<[unknown, Consumer]>();
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart) builtIn.restarts++;
    });
    await new Promise((resolve) => setTimeout(resolve, OBSERVE_MS));
    await serverKafka.close();

    const transport = ourTransport(b);
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(throwingController(PATTERN, ours), {
      strategy: transport,
      logger: quiet,
    });
    await observe(app, () => {
      ours.groupJoins = transport.consumerStatus.groupJoins;
      ours.retrying = transport.consumerStatus.retrying;
    });
    console.error(`in ${OBSERVE_MS / 1000} s: ServerKafka ${JSON.stringify(builtIn)}; ours ${JSON.stringify(ours)}`);
  }, 60_000);

  it('ServerKafka: the consumer restarts and rejoins its group, and the message comes back at once', () => {
    expect(builtIn.restarts).toBeGreaterThanOrEqual(2);
    expect(builtIn.calls).toBeGreaterThanOrEqual(builtIn.restarts);
  });

  it('KafkaStudyTransport: one group join, the message fetched again only after growing pauses', () => {
    expect(ours.groupJoins).toBe(1);
    expect(ours.retrying).toEqual([0]);
    // 1 s, 2 s, 4 s pauses (half of each jittered) within 8 s: at most 5 deliveries.
    expect(ours.calls).toBeGreaterThanOrEqual(2);
    expect(ours.calls).toBeLessThanOrEqual(5);
  });

  it('KafkaStudyTransport with an exception filter that parks: delivered once, offset committed', async () => {
    const topics = uniqueTopics('transport-filtered');
    await createTopics(topics);
    await sendPoison(topics);
    const seen: Observation = { calls: 0, restarts: 0 };
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(throwingController(PATTERN, seen, true), {
      strategy: ourTransport(topics),
      logger: quiet,
    });
    await observe(app);
    expect(seen.calls).toBe(1);
    expect(await committedOffset(topics)).toBe(1);
  }, 30_000);
});
