import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import {
  KafkaStudyConsumer,
  type ConsumedMessage,
  type ConsumerStatus,
  type KafkaConsumerOptions,
  type MessageContext,
  type MessageDisposition,
  type MessageHandler,
} from '../kafka-consumer.js';
import { KafkaDeliveryContext } from './kafka-delivery.context.js';

export interface KafkaStudyTransportOptions extends Omit<KafkaConsumerOptions, 'topics'> {
  /** Topic → the pattern its handler is registered under with @EventPattern. */
  patterns: Readonly<Record<string, string>>;
  /** On close: how long handlers in flight may still finish before they are left uncommitted. */
  shutdownDeadlineMs: number;
}

/** Our transport's id for Nest's processing hooks. */
export const KAFKA_STUDY_TRANSPORT = Symbol('KafkaStudyTransport');

type TransportEvents = { status: (status: ConsumerStatus) => void };

/** The broker side of the transport: KafkaStudyConsumer, or a fake in unit tests. */
export interface MessageLoop {
  start(handler: MessageHandler): Promise<void>;
  stop(deadlineMs: number): Promise<void>;
  readonly status: ConsumerStatus;
}

/**
 * Our Kafka transport for Nest microservices (a custom transport strategy). Each message
 * goes to the @EventPattern handler of its topic with a KafkaDeliveryContext; the handler
 * (its pipes, interceptors and exception filters included) answers with a
 * MessageDisposition. Whatever escapes it, an exception too, is ours to handle and never
 * kafkajs's: see KafkaStudyConsumer for commits, heartbeats, redelivery and shutdown.
 */
export class KafkaStudyTransport extends Server<TransportEvents> implements CustomTransportStrategy {
  private readonly consumer: MessageLoop;

  constructor(
    private readonly options: KafkaStudyTransportOptions,
    consumer?: MessageLoop,
  ) {
    super();
    this.transportId = KAFKA_STUDY_TRANSPORT;
    this.consumer = consumer ?? new KafkaStudyConsumer({ ...options, topics: Object.keys(options.patterns) });
  }

  listen(callback: (error?: unknown) => void): void {
    this.consumer
      .start((message, context) => this.dispatch(message, context))
      .then(
        () => callback(),
        (error: unknown) => callback(error),
      );
  }

  async close(): Promise<void> {
    await this.consumer.stop(this.options.shutdownDeadlineMs);
  }

  get consumerStatus(): ConsumerStatus {
    return this.consumer.status;
  }

  on(): never {
    throw new Error('KafkaStudyTransport has no events to listen to; read consumerStatus');
  }

  // The signature is Server's.
  // oxlint-disable-next-line typescript/no-unnecessary-type-parameters
  unwrap<T>(): T {
    return this.consumer as T;
  }

  private async dispatch(message: ConsumedMessage, context: MessageContext): Promise<MessageDisposition> {
    const pattern = this.options.patterns[message.topic];
    const handler = pattern === undefined ? null : this.getHandlerByPattern(pattern);
    if (!handler) {
      // A subscribed topic without a handler is a wiring bug: keep the message for a fixed worker.
      this.options.log('error', 'no handler for the topic; message left uncommitted', { topic: message.topic });
      return 'retry';
    }
    const delivery = new KafkaDeliveryContext([
      message,
      context.signal,
      context.deliveries,
      context.stillOwned,
      context.refetches,
    ]);
    // Nest's processing hooks (e.g. tracing) wrap each delivery; `done` is ours to await.
    return new Promise<MessageDisposition>((resolve, reject) => {
      this.onProcessingStartHook(this.transportId ?? KAFKA_STUDY_TRANSPORT, delivery, async () => {
        const runEndHook = this.createProcessingEndHookRunner(delivery);
        try {
          const result: unknown = await handler(message.value, delivery);
          resolve(
            asDisposition(isObservable(result) ? await lastValueFrom(result, { defaultValue: undefined }) : result),
          );
        } catch (error) {
          reject(error);
        } finally {
          runEndHook();
        }
      });
    });
  }
}

function asDisposition(value: unknown): MessageDisposition {
  if (value === 'commit' || value === 'leave' || value === 'retry') return value;
  throw new Error(`a KafkaStudyTransport handler must answer 'commit', 'leave' or 'retry', not ${String(value)}`);
}
