import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { syntheticCtSeries } from '@app/dicom/phantom';
import { stack } from '../../support/stack.js';
import {
  createTopics,
  EventSender,
  reportsReferencing,
  seriesOfStudy,
  storeInstances,
  TopicRecorder,
  uniqueTopics,
  workerEnvironment,
  WorkerProcess,
  type RecordedMessage,
  type WorkerTopics,
} from '../../support/worker-harness.js';

/**
 * One fault scenario: its own topics, a recorder of every answer, workers as child processes
 * (so they can be killed), small phantom studies with fresh UIDs, and at the end a count of
 * what came out of the studies that went in, from the broker, the archive and the FHIR server.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

export type StackService = 'kafka' | 'orthanc' | 'fhir';

/**
 * Stops one server of the local stack, or starts it again on the state it had (`resume`: a
 * broker keeps its topics and offsets), with the repository's own script.
 */
export async function stackService(action: 'down' | 'resume', service: StackService): Promise<void> {
  await run('bash', [join(root, 'scripts/stack/stack.sh'), action, service], { timeout: 240_000 });
}

/** A chest phantom small enough that a hundred of them store and triage in minutes. */
export function smallStudy(): { studyInstanceUid: string; files: Buffer[] } {
  const series = syntheticCtSeries({
    rows: 96,
    columns: 96,
    slices: 20,
    pixelSpacing: [3.6, 3.6],
    sliceSpacing: 5,
    origin: [-172.8, -172.8, -60],
    attributes: { SliceThickness: 5 },
  });
  return { studyInstanceUid: series.studyInstanceUid, files: series.instances.map((i) => i.bytes) };
}

/**
 * Worker settings for faults: a dead member is noticed in seconds, and a study's retries run
 * out within seconds, so that an outage longer than that is waited out, not retried through.
 */
const FAULT_SETTINGS = {
  KAFKA_SESSION_TIMEOUT_MS: '6000',
  KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
  WORKER_RETRY_ATTEMPTS: '3',
  WORKER_RETRY_INITIAL_DELAY_MS: '500',
  WORKER_RETRY_MAX_DELAY_MS: '2000',
  WORKER_DECODE_THREADS: '1',
  LOG_LEVEL: 'debug',
};

export interface ScenarioTally {
  scenario: string;
  studiesIn: number;
  /** Studies answered with TriageCompleted and with one SEG, one SR and one report. */
  completed: number;
  /** Studies answered with TriageFailed, by reason: explained, not lost. */
  failed: Record<string, number>;
  /** Studies without an answer, or answered without their SEG, SR or report. */
  lost: string[];
  /**
   * Studies with two SEGs, SRs or reports, two different answers or two failures, or
   * contradictory: a TriageFailed beside a SEG or SR written.
   */
  duplicated: string[];
  /** TriageCompleted sent again with the same eventId (at-least-once; consumers de-duplicate on it). */
  repeatedAnswers: number;
}

export class FaultScenario {
  readonly topics: WorkerTopics;
  readonly recorder = new TopicRecorder();
  readonly studies: string[] = [];
  private readonly sender: EventSender;
  private readonly workers: WorkerProcess[] = [];

  constructor(
    readonly name: string,
    private readonly studyPartitions = 1,
  ) {
    this.topics = uniqueTopics(`faults.${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`);
    this.sender = new EventSender(this.topics.studyAvailable);
  }

  async setUp(): Promise<void> {
    await createTopics(this.topics, this.studyPartitions);
    await this.recorder.start([this.topics.triageCompleted, this.topics.triageFailed, this.topics.deadLetter]);
    await this.sender.connect();
  }

  startWorker(main: string, extra: Record<string, string> = {}): WorkerProcess {
    const worker = new WorkerProcess(main, workerEnvironment(this.topics, { ...FAULT_SETTINGS, ...extra }));
    this.workers.push(worker);
    return worker;
  }

  /** Stores `count` phantom studies, then announces them; returns their UIDs. */
  async announce(count = 1): Promise<string[]> {
    const made = Array.from({ length: count }, () => smallStudy());
    await storeInstances(made.flatMap((m) => m.files));
    const uids = made.map((m) => m.studyInstanceUid);
    for (const uid of uids) await this.announceStored(uid);
    return uids;
  }

  /** Announces a study already in the archive. */
  async announceStored(studyInstanceUid: string): Promise<string> {
    await this.sender.study({ studyInstanceUid });
    this.studies.push(studyInstanceUid);
    return studyInstanceUid;
  }

  /** Waits until every study announced so far has an answer (TriageCompleted or TriageFailed). */
  async waitForAnswers(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answered = new Set(this.answers().map((m) => m.json?.studyInstanceUid));
      const waiting = this.studies.filter((uid) => !answered.has(uid));
      if (waiting.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.name}: ${waiting.length} of ${this.studies.length} studies unanswered after ${timeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Counts, per study, the answers on the broker and the objects in the archive and on FHIR. */
  async tally(): Promise<ScenarioTally> {
    const tally: ScenarioTally = {
      scenario: this.name,
      studiesIn: this.studies.length,
      completed: 0,
      failed: {},
      lost: [],
      duplicated: [],
      repeatedAnswers: 0,
    };
    for (const uid of this.studies) {
      const about = this.answers().filter((m) => m.json?.studyInstanceUid === uid);
      const completed = about.filter((m) => m.topic === this.topics.triageCompleted);
      const failed = about.filter((m) => m.topic === this.topics.triageFailed);
      const completedIds = new Set(completed.map((m) => m.json?.eventId));
      tally.repeatedAnswers += completed.length - completedIds.size;
      const series = await seriesOfStudy(uid);
      const count = (modality: string) =>
        series.filter((s) => s.modality === modality).reduce((n, s) => n + s.instances, 0);
      const [segs, srs] = [count('SEG'), count('SR')];
      const srUid = (completed[0]?.json as { structuredReport?: { sopInstanceUid: string } } | undefined)
        ?.structuredReport?.sopInstanceUid;
      const reports = srUid ? (await reportsReferencing(srUid)).length : 0;
      if (completedIds.size > 1 || failed.length > 1 || (completed.length > 0 && failed.length > 0)) {
        tally.duplicated.push(uid);
      } else if (completed.length === 1 || completedIds.size === 1) {
        if (segs > 1 || srs > 1 || reports > 1) tally.duplicated.push(uid);
        else if (segs === 1 && srs === 1 && reports === 1) tally.completed++;
        else tally.lost.push(uid);
      } else if (failed.length === 1) {
        const reason =
          (failed[0].json as { reason?: string } | undefined)?.reason?.replace('FAILURE_REASON_', '') ?? '?';
        tally.failed[reason] = (tally.failed[reason] ?? 0) + 1;
        if (segs > 0 || srs > 0) tally.duplicated.push(uid);
      } else {
        tally.lost.push(uid);
      }
    }
    await recordTally(tally);
    return tally;
  }

  /** Stops every worker still running (SIGTERM) and disconnects. */
  async tearDown(): Promise<void> {
    for (const worker of this.workers) {
      worker.kill('SIGTERM');
      await worker.exited;
    }
    await this.sender.disconnect();
    await this.recorder.stop();
  }

  /**
   * What each worker did (UIDs and codes only), the first clue when a scenario fails: the tail
   * on the console, the whole log in the run's reports folder.
   */
  printWorkerTrails(): void {
    this.workers.forEach((worker, n) => {
      const trail = worker.lines.map((l) =>
        [
          l.time,
          l.level,
          l.msg,
          l.code ?? l.skip ?? l.error ?? '',
          l.partition ?? '',
          l.offset ?? '',
          l.studyInstanceUid ?? '',
        ].join(' '),
      );
      const file = join(reportsDir(), `faults-${this.topics.groupId}-worker-${n + 1}.log`);
      void writeFile(file, `${worker.lines.map((l) => JSON.stringify(l)).join('\n')}\n${worker.stderr}`);
      console.warn(
        `${this.name}: worker ${n + 1}'s log (whole: ${file}):\n${trail.slice(-60).join('\n')}\n${worker.stderr.slice(-2000)}`,
      );
    });
  }

  private answers(): RecordedMessage[] {
    return this.recorder.messages.filter(
      (m) => m.topic === this.topics.triageCompleted || m.topic === this.topics.triageFailed,
    );
  }
}

/** Appends the scenario's row to the run's fault report (printed at the end of test:all). */
async function recordTally(tally: ScenarioTally): Promise<void> {
  await appendFile(join(reportsDir(), 'faults.jsonl'), `${JSON.stringify(tally)}\n`);
}

function reportsDir(): string {
  const dir = join(process.env.TRIAGE_CACHE_DIR ?? join(root, '.cache'), 'test-reports');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The DICOMweb URL of the archive reached through a proxy on `port`. */
export function dicomwebThrough(port: number): string {
  const url = new URL(stack.dicomwebUrl);
  url.port = String(port);
  return url.toString().replace(/\/$/, '');
}

/** The archive's address, for a proxy in front of it. */
export function archiveAddress(): { host: string; port: number } {
  const url = new URL(stack.dicomwebUrl);
  return { host: url.hostname, port: Number(url.port) };
}

/** The worker's readiness: its HTTP status and the checks that fail. */
export async function readiness(worker: WorkerProcess): Promise<{ status: number; body: string }> {
  const started = await worker.waitForLog('worker started', (l) => l.msg === 'worker started');
  const response = await fetch(`http://127.0.0.1:${String(started.httpPort)}/health/ready`);
  return { status: response.status, body: await response.text() };
}
