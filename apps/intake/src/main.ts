import 'reflect-metadata';
import { loadIntakeConfigFromEnvironment } from '@app/config';
import { runService } from '@app/service/run';
import { startIntake } from './start-intake.js';

/**
 * The intake: platform notifications in, one StudyAvailable per complete study version out
 * (docs/intake.md). Exit codes at start-up as the worker's: 78 a setting is wrong or a file it
 * names unreadable, 77 Kafka refused our credentials, 1 anything else.
 */
void runService({ name: 'intake', loadConfig: loadIntakeConfigFromEnvironment, start: startIntake });
