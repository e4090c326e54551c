import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AppConfig } from '@app/config';
import { loadTriageModel, type VolumeAnalyzer } from '@app/inference';
import { JsonLogger } from './json-logger.js';
import { WorkerService, type WorkerOptions } from './worker.service.js';

export const ANALYZER = Symbol('ANALYZER');

export interface WorkerOverrides extends WorkerOptions {
  logger?: JsonLogger;
  /** Replaces the model loaded from MODEL_MANIFEST (tests: a slower or failing analyzer). */
  analyzer?: (config: AppConfig, log: JsonLogger) => Promise<VolumeAnalyzer>;
}

/** Loads the model set once at start-up: a bad manifest or graph stops the worker before it consumes. */
export async function loadAnalyzer(config: AppConfig, log: JsonLogger): Promise<VolumeAnalyzer> {
  const started = performance.now();
  const analyzer = await loadTriageModel({
    manifestPath: config.inference.manifestPath,
    executionProviders: config.inference.executionProviders,
    batchSlices: config.inference.batchSlices,
    ...(config.inference.intraOpThreads === undefined ? {} : { intraOpThreads: config.inference.intraOpThreads }),
    log: (line) => log.write('info', line, { component: 'inference' }),
  });
  log.info('model loaded', {
    model: analyzer.model,
    executionProviders: analyzer.executionProviders,
    ms: Math.round(performance.now() - started),
  });
  return analyzer;
}

// A Nest module is a decorated class by design; its providers come from forRoot.
@Module({})
// oxlint-disable-next-line typescript/no-extraneous-class
export class WorkerModule {
  static forRoot(config: AppConfig, overrides: WorkerOverrides = {}): DynamicModule {
    const logger = overrides.logger ?? new JsonLogger(config.logLevel, { service: 'covid-ct-triage-worker' });
    return {
      module: WorkerModule,
      providers: [
        { provide: JsonLogger, useValue: logger },
        {
          provide: ANALYZER,
          useFactory: () => (overrides.analyzer ?? loadAnalyzer)(config, logger),
        },
        {
          provide: WorkerService,
          useFactory: (analyzer: VolumeAnalyzer) => new WorkerService(config, logger, analyzer, overrides),
          inject: [ANALYZER],
        },
      ],
    };
  }
}

/** Starts the worker in this process; `close()` runs the same shutdown as SIGTERM. */
export async function startWorker(config: AppConfig, overrides: WorkerOverrides = {}) {
  const logger = overrides.logger ?? new JsonLogger(config.logLevel, { service: 'covid-ct-triage-worker' });
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, { ...overrides, logger }), {
    logger,
    abortOnError: false,
  });
  return { app, service: app.get(WorkerService), close: () => app.close() };
}
