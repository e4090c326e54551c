import { backoffDelay, type RetryPolicy } from '@app/errors';
import type { Admin, Consumer, EachMessagePayload } from 'kafkajs';
import { deliveryMetadata, recordedDeliveries } from './delivery-count.js';
import { kafkaAccessRefusal } from './kafka-access.js';
import { createKafkaClient, type KafkaConnection } from './kafka-connection.js';
import type { KafkaLog } from './kafka-log.js';

/**
 * The kafkajs loop under KafkaStudyTransport (the Nest transport). Nest's own ServerKafka
 * hands a handler's exception to kafkajs, which restarts the consumer (the group
 * rebalances) and redelivers the same message forever, and it commits by itself. Here:
 *
 * - offsets are committed only by us, after the handler says so (autoCommit off);
 * - a handler that asks for a retry is never an exception for kafkajs: its partition seeks
 *   back to the message and pauses for a backoff, the group stays as it is;
 * - a heartbeat is sent every heartbeat interval while a message is handled, so a study
 *   that takes longer than the session timeout does not make the group rebalance;
 * - on stop, fetching pauses, handlers in flight get until the deadline, then their
 *   signal aborts, and whatever was not finished stays uncommitted (redelivered later).
 */

/** How long handlers may still run after their signal aborted (inference, a write-back under way). */
const UNINTERRUPTIBLE_GRACE_MS = 5_000;

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

/**
 * commit: the message is done (written back or parked). leave: interrupted by shutdown,
 * the next owner redoes it. retry: not done (e.g. the broker refused our answer); this
 * consumer fetches it again after a backoff.
 */
export type MessageDisposition = 'commit' | 'leave' | 'retry';

/** Between redeliveries of a message whose handler asked for a retry (per partition, growing). */
const REDELIVERY_BACKOFF: RetryPolicy = {
  attempts: Number.MAX_SAFE_INTEGER,
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
};

export interface MessageContext {
  /** Aborted when shutdown's deadline passes: stop at the next step and answer 'leave'. */
  signal: AbortSignal;
  /** This delivery's number: 1, or more when earlier ones ended with the process dying (delivery-count.ts). */
  deliveries: number;
  /**
   * False once a heartbeat during this delivery learnt that the group is rebalancing or has
   * moved on without us: the partition may already be another member's, so this one must not
   * write anything back (a fence against two members triaging the same study at once).
   */
  stillOwned: () => boolean;
  /** How many times this consumer fetched this message again after its handler answered 'retry'. */
  refetches: number;
}

/** Heartbeat answers that mean the group is rebalancing or no longer counts us in. */
const MEMBERSHIP_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
]);

export type MessageHandler = (message: ConsumedMessage, context: MessageContext) => Promise<MessageDisposition>;

export interface KafkaConsumerOptions {
  connection: KafkaConnection;
  groupId: string;
  /** The topics to consume (the transport maps each to a message pattern). */
  topics: readonly string[];
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Messages handled at once (from different partitions; one partition is always sequential). */
  concurrency: number;
  /** Where a new group starts: the earliest message (default) or only new ones. */
  fromBeginning?: boolean;
  log: KafkaLog;
}

export interface ConsumerStatus {
  /** Joined the group and fetching. */
  connected: boolean;
  /** Messages being handled now. */
  inFlight: number;
  /** How many times this consumer (re)joined the group: more than once means a rebalance. */
  groupJoins: number;
  /** Set when kafkajs gave up (a crash it will not restart from). */
  crashed?: string;
  /** Partitions paused to fetch a message again because its handling could not finish (e.g. answers refused). */
  retrying: number[];
}

export class KafkaStudyConsumer {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly inFlight = new Set<{ abort: AbortController; done: Promise<void> }>();
  /** Consecutive retries per partition, and the timers that will resume them. */
  private readonly retries = new Map<number, number>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private stopping = false;
  private readonly state: Omit<ConsumerStatus, 'retrying'> = { connected: false, inFlight: 0, groupJoins: 0 };

  constructor(private readonly options: KafkaConsumerOptions) {
    const kafka = createKafkaClient(options.connection, options.log);
    this.admin = kafka.admin();
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      // A rebalance caused by another member joining waits this long for us to finish.
      rebalanceTimeout: Math.max(60_000, options.sessionTimeoutMs * 2),
    });
    const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (event) => {
      this.state.connected = true;
      this.state.groupJoins++;
      delete this.state.crashed;
      options.log('info', 'joined the consumer group', {
        groupId: options.groupId,
        memberId: event.payload.memberId,
        assignment: event.payload.memberAssignment,
      });
    });
    this.consumer.on(CRASH, (event) => {
      this.state.connected = false;
      if (!event.payload.restart) this.state.crashed = event.payload.error.message;
      options.log('error', 'Kafka consumer crashed', {
        error: event.payload.error.message,
        restart: event.payload.restart,
      });
    });
    this.consumer.on(STOP, () => (this.state.connected = false));
    this.consumer.on(DISCONNECT, () => (this.state.connected = false));
  }

  get status(): ConsumerStatus {
    return {
      ...this.state,
      inFlight: this.inFlight.size,
      retrying: [...this.retries.keys()].toSorted((a, b) => a - b),
    };
  }

  /**
   * Joins the group and starts handling messages. A broker that is still starting (e.g.
   * "coordinator is loading") gets a few attempts with backoff before start-up fails; a
   * broker refusing our credentials or certificates (KafkaAccessError) gets none.
   */
  async start(handler: MessageHandler, attempts = 5): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.admin.connect();
        await this.consumer.connect();
        await this.consumer.subscribe({
          topics: [...this.options.topics],
          fromBeginning: this.options.fromBeginning ?? true,
        });
        await this.consumer.run({
          autoCommit: false,
          partitionsConsumedConcurrently: this.options.concurrency,
          eachMessage: (payload) => this.handle(payload, handler),
        });
        return;
      } catch (error) {
        const refused = kafkaAccessRefusal(error, this.options.connection, { fresh: false });
        if (refused) {
          await this.consumer.disconnect().catch(() => undefined);
          await this.admin.disconnect().catch(() => undefined);
          throw refused;
        }
        const message = `cannot consume topic ${this.options.topics.join(', ')}: ${(error as Error).message}`;
        if (attempt >= attempts) throw new Error(message, { cause: error });
        this.options.log('warn', `${message}; retrying`, { attempt });
        await this.consumer.disconnect().catch(() => undefined);
        await this.admin.disconnect().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
  }

  private async handle(payload: EachMessagePayload, handler: MessageHandler): Promise<void> {
    const { topic, partition, message } = payload;
    // Messages of a batch fetched before stop() are left for the next owner.
    if (this.stopping) return;
    const abort = new AbortController();
    let finish!: () => void;
    const entry = { abort, done: new Promise<void>((resolve) => (finish = resolve)) };
    this.inFlight.add(entry);
    let owned = true;
    const beat = setInterval(() => {
      payload.heartbeat().catch((error: unknown) => {
        const type = (error as { type?: string }).type;
        if (type && MEMBERSHIP_ERRORS.has(type)) owned = false;
        this.options.log('warn', 'heartbeat failed', { error: (error as Error).message, type, partition });
      });
    }, this.options.heartbeatIntervalMs);
    let deliveries = 0;
    try {
      deliveries = await this.recordDelivery(topic, partition, message.offset);
      const disposition = await handler(
        {
          topic,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: headersOf(message.headers),
          timestamp: message.timestamp,
        },
        { signal: abort.signal, deliveries, stillOwned: () => owned, refetches: this.retries.get(partition) ?? 0 },
      ).catch((error: unknown): MessageDisposition => {
        // Never kafkajs's to handle: it would restart the consumer and rebalance the group.
        this.options.log('error', 'message handler failed', {
          partition,
          offset: message.offset,
          error: error instanceof Error ? error.message : String(error),
        });
        return 'retry';
      });
      // 'commit' means finished (written back and answered, or parked), even past the deadline;
      // anything else stays uncommitted and the (idempotent) work is redone.
      if (disposition === 'commit') {
        await this.consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        this.retries.delete(partition);
      } else if (this.stopping || abort.signal.aborted) {
        this.options.log('info', 'message left uncommitted for the next owner', { partition, offset: message.offset });
        // Keep kafkajs from moving on to later messages of this partition before we leave.
        this.consumer.pause([{ topic, partitions: [partition] }]);
        await this.forgetDelivery(topic, partition, message.offset, deliveries);
      } else {
        this.redeliverLater(topic, partition, message.offset);
        await this.forgetDelivery(topic, partition, message.offset, deliveries);
      }
    } catch (error) {
      // Counting or committing failed (the broker): fetch the message again after a pause.
      this.options.log('error', 'could not count or commit a delivery', {
        partition,
        offset: message.offset,
        error: (error as Error).message,
      });
      if (!this.stopping) this.redeliverLater(topic, partition, message.offset);
    } finally {
      clearInterval(beat);
      this.inFlight.delete(entry);
      finish();
    }
  }

  /** Counts this delivery durably before the handler starts (delivery-count.ts); returns its number. */
  private async recordDelivery(topic: string, partition: number, offset: string): Promise<number> {
    const [committed] = await this.admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] });
    const entry = committed?.partitions.find((p) => p.partition === partition);
    const deliveries = recordedDeliveries(entry?.metadata, offset) + 1;
    await this.consumer.commitOffsets([{ topic, partition, offset, metadata: deliveryMetadata(offset, deliveries) }]);
    return deliveries;
  }

  /** This process saw how the delivery ended (not a death): the previous count goes back. */
  private async forgetDelivery(topic: string, partition: number, offset: string, deliveries: number): Promise<void> {
    await this.consumer
      .commitOffsets([{ topic, partition, offset, metadata: deliveryMetadata(offset, deliveries - 1) }])
      .catch((error: unknown) =>
        this.options.log('warn', 'could not restore the delivery count', { partition, offset, error: String(error) }),
      );
  }

  /** Seeks the partition back to the message and pauses it for a growing backoff. */
  private redeliverLater(topic: string, partition: number, offset: string): void {
    const retries = (this.retries.get(partition) ?? 0) + 1;
    this.retries.set(partition, retries);
    const delayMs = backoffDelay(REDELIVERY_BACKOFF, retries);
    this.consumer.seek({ topic, partition, offset });
    this.consumer.pause([{ topic, partitions: [partition] }]);
    this.options.log('warn', 'message not finished; fetching it again after a pause', {
      partition,
      offset,
      retries,
      delayMs,
    });
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (!this.stopping) this.consumer.resume([{ topic, partitions: [partition] }]);
    }, delayMs);
    this.resumeTimers.add(timer);
  }

  /** Stops fetching, lets handlers in flight finish within `deadlineMs`, then aborts them and leaves. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    try {
      this.consumer.pause(this.options.topics.map((topic) => ({ topic })));
    } catch {
      // Not running yet: nothing to pause.
    }
    const pending = [...this.inFlight];
    if (pending.length > 0) {
      this.options.log('info', 'waiting for studies in flight', { count: pending.length, deadlineMs });
      const all = Promise.all(pending.map((p) => p.done));
      if ((await raceTimeout(all, deadlineMs)) === 'timeout') {
        this.options.log('warn', 'shutdown deadline passed: interrupting the studies in flight', {
          count: this.inFlight.size,
        });
        for (const p of this.inFlight) p.abort.abort(new Error('shutdown deadline passed'));
        // Steps that cannot be interrupted (inference, a write-back already begun) get a short
        // grace. Then we go without leaving the group cleanly (kafkajs would wait for the
        // handler): the partition moves to another member after the session timeout, and the
        // study is redone there.
        if ((await raceTimeout(all, UNINTERRUPTIBLE_GRACE_MS)) === 'timeout') {
          void this.consumer.disconnect().catch(() => undefined);
          void this.admin.disconnect().catch(() => undefined);
          this.state.connected = false;
          return;
        }
      }
    }
    await raceTimeout(this.consumer.disconnect(), 10_000);
    await raceTimeout(this.admin.disconnect(), 5_000);
    this.state.connected = false;
  }
}

function headersOf(headers: EachMessagePayload['message']['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    result[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return result;
}

async function raceTimeout(promise: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([promise.then(() => 'done' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
