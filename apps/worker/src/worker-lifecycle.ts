import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { AppConfig } from '@app/config';
import type { FrameDecoder } from '@app/dicom';
import type { VolumeAnalyzer } from '@app/inference';
import type { KafkaEventPublisher } from '@app/messaging';
import { shutdownTelemetry } from '@app/telemetry';
import { HealthServer } from '@app/service';
import { JsonLogger } from './json-logger.js';
import { ANALYZER, APP_CONFIG, FRAME_DECODER, RESULT_PUBLISHER } from './tokens.js';

/**
 * Start and stop order in one place. Nest runs, on SIGTERM or close(): before-shutdown
 * hooks, then the transport's close (the consumer stops; studies in flight get the
 * deadline), then shutdown hooks. So the publisher, decoder and model are released only
 * after the last study has let go of them.
 */
@Injectable()
export class WorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  /** The port the health endpoints listen on (useful when HTTP_PORT is 0 in tests). */
  httpPort?: number;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(JsonLogger) private readonly log: JsonLogger,
    @Inject(HealthServer) private readonly health: HealthServer,
    @Inject(RESULT_PUBLISHER) private readonly publisher: KafkaEventPublisher,
    @Inject(FRAME_DECODER) private readonly decoder: FrameDecoder,
    @Inject(ANALYZER) private readonly analyzer: VolumeAnalyzer,
  ) {}

  /** Before the transport listens: nothing is consumed until answers can be published. */
  async onApplicationBootstrap(): Promise<void> {
    this.httpPort = await this.health.listen(this.config.httpPort);
    await this.publisher.connect();
  }

  beforeApplicationShutdown(signal?: string): void {
    this.log.info('worker stopping', { signal, deadlineMs: this.config.worker.shutdownDeadlineMs });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.publisher.disconnect().catch(() => undefined);
    await this.health.close();
    await this.decoder.close();
    await this.analyzer.close();
    // The last spans and metrics go out (bounded wait; no-op when telemetry is off).
    await shutdownTelemetry();
    this.log.info('worker stopped');
  }
}
