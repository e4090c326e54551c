import { BaseRpcContext } from '@nestjs/microservices';
import type { ConsumedMessage } from '../kafka-consumer.js';

/**
 * What a handler of KafkaStudyTransport gets with `@Ctx()`: the message as consumed
 * (for dead-letter records, which keep the original bytes), the signal that aborts
 * when shutdown's deadline passes, how many deliveries of it a process died during, how
 * often it was fetched again after a 'retry', and how many attempts the handler has made.
 */
export class KafkaDeliveryContext extends BaseRpcContext<
  [ConsumedMessage, AbortSignal, number, () => boolean, number]
> {
  private attempts = 1;

  getMessage(): ConsumedMessage {
    return this.args[0];
  }

  /** Aborted when shutdown's deadline passes: stop at the next step; the message stays uncommitted. */
  getSignal(): AbortSignal {
    return this.args[1];
  }

  /** 1, or more when earlier deliveries of this message ended with the worker process dying. */
  getDeliveries(): number {
    return this.args[2];
  }

  /** False once the group rebalanced or dropped us during this delivery: write nothing back. */
  isStillOwner(): boolean {
    return this.args[3]();
  }

  /** How many times this message was fetched again after its handler answered 'retry'. */
  getRefetches(): number {
    return this.args[4];
  }

  /** Attempts made at this delivery so far (a handler that retries says so with recordAttempt). */
  getAttempts(): number {
    return this.attempts;
  }

  recordAttempt(attempt: number): void {
    this.attempts = attempt;
  }
}
