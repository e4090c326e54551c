import 'reflect-metadata';
import { loadConfigFromEnvironment } from '@app/config';
import { runService } from '@app/service/run';
import { startWorker } from './start-worker.js';

/**
 * The triage worker: consumes StudyAvailable, writes SEG, SR and the FHIR report back,
 * answers with TriageCompleted or TriageFailed. Not for clinical use.
 *
 * Exit codes at start-up (docs/worker.md): 78 a setting is wrong or a file it names is
 * unreadable (EX_CONFIG); 77 Kafka refused our credentials, certificates or security
 * protocol, or its ACLs deny a configured topic or the consumer group (EX_NOPERM; retrying
 * cannot help); 1 anything else. SIGTERM/SIGINT finish or leave the study in flight, then exit.
 */
void runService({ name: 'worker', loadConfig: loadConfigFromEnvironment, start: startWorker });
