import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { phantomStudy } from '@app/dicom/phantom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertReachable, stack } from '../support/stack.js';
import {
  createTopics,
  EventSender,
  fhirGet,
  seriesOfStudy,
  storeInstances,
  TopicRecorder,
  uniqueTopics,
  workerEnvironment,
  type RecordedMessage,
} from '../support/worker-harness.js';

/**
 * The CPU container image (scripts/image/build-cpu.sh) run here with runc
 * (scripts/image/run.sh) against the local stack: user 10001, read-only root filesystem,
 * /tmp a tmpfs, host network. Builds the image first (a few seconds when its layers are
 * cached, about two minutes cold). Skips, saying why, where this machine cannot run a
 * container: not root, runc not installed (scripts/provision.sh installs it), or runc
 * failing to start one (no namespaces, an unusable cgroup hierarchy).
 * TRIAGE_TEST_IMAGE=cuda runs the CUDA image instead (build-cuda.sh, minutes cold; not in CI):
 * without a GPU its worker falls back from cuda to the CPU.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const cacheDir = process.env.TRIAGE_CACHE_DIR || join(root, '.cache');
const variant = process.env.TRIAGE_TEST_IMAGE === 'cuda' ? 'cuda' : 'cpu';
const imageDir = join(cacheDir, 'image', variant);

function whyNotRunnable(): string | undefined {
  if (process.platform !== 'linux') return 'containers run on Linux only';
  if (process.getuid?.() !== 0) return 'scripts/image/run.sh runs runc as root; this test runs as another user';
  for (const tool of ['runc', 'umoci', 'jq']) {
    if (spawnSync(tool, ['--version']).status !== 0)
      return `${tool} is not installed (scripts/provision.sh installs it)`;
  }
  return undefined;
}
const notRunnable = whyNotRunnable();
if (notRunnable) console.warn(`container image test skipped: ${notRunnable}`);

const topics = uniqueTopics('container-image');
const recorder = new TopicRecorder();
const sender = new EventSender(topics.studyAvailable);
const containerName = `triage-test-${process.pid}`;
/** Set when runc cannot start a container here: the tests then skip with this reason. */
let cannotRun: string | undefined;
/** run.sh's arguments naming the image: --layout and --ref. */
let image: string[] = [];
let probeOutput = '';
let container: ChildProcess | undefined;
const containerLog: Record<string, unknown>[] = [];
let containerStderr = '';
let httpPort = 0;
let readyMs = 0;
let readyBody: { status: string; checks: Record<string, { ok: boolean }> } | undefined;

function runScript(args: string[], timeoutMs: number) {
  return spawnSync('bash', args, { cwd: root, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe.skipIf(notRunnable !== undefined)(`${variant} container image, run with runc against the local stack`, () => {
  beforeAll(async () => {
    await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
    await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);

    const buildStarted = performance.now();
    const build = runScript([`scripts/image/build-${variant}.sh`], 900_000);
    if (build.status !== 0) throw new Error(`image build failed:\n${build.stderr.slice(-4000)}`);
    const built = JSON.parse(readFileSync(join(imageDir, 'build.json'), 'utf8')) as Record<string, unknown>;
    image = ['--layout', join(imageDir, 'oci'), '--ref', String(built.ref).split(':')[1]];
    console.warn(
      `image ${String(built.ref)} built in ${((performance.now() - buildStarted) / 1000).toFixed(1)} s: ` +
        JSON.stringify(built),
    );

    // Can runc start a container here at all? Also what the first test checks inside it.
    const probe = runScript(
      [
        'scripts/image/run.sh',
        ...image,
        '--name',
        `${containerName}-probe`,
        '--',
        'node',
        '-e',
        `const fs = require('node:fs');
         let rootfs = 'writable';
         try { fs.writeFileSync('/app/probe', ''); } catch (error) { rootfs = error.code; }
         fs.writeFileSync('/tmp/probe', 'ok');
         console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), rootfs, node: process.version,
           shell: ['/bin/sh', '/bin/bash', '/usr/bin/sh', '/bin/dash'].filter((p) => fs.existsSync(p)) }));`,
      ],
      120_000,
    );
    if (probe.status !== 0) {
      cannotRun = `runc cannot start a container on this machine: ${probe.stderr.trim().split('\n').slice(-2).join(' ')}`;
      console.warn(`container image test skipped: ${cannotRun}`);
      return;
    }
    probeOutput = probe.stdout.trim();

    await createTopics(topics);
    await recorder.start([topics.triageCompleted, topics.triageFailed, topics.deadLetter]);
    await sender.connect();

    httpPort = await freePort();
    const runDir = join(cacheDir, 'image', 'run');
    mkdirSync(runDir, { recursive: true });
    const envFile = join(runDir, `${containerName}.env`);
    const environment = workerEnvironment(topics, { HTTP_PORT: String(httpPort), LOG_LEVEL: 'info' });
    writeFileSync(
      envFile,
      Object.entries(environment)
        .map(([name, value]) => `${name}=${value}\n`)
        .join(''),
      {
        mode: 0o600,
      },
    );

    const started = performance.now();
    container = spawn('bash', ['scripts/image/run.sh', ...image, '--name', containerName, '--env-file', envFile], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    container.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        try {
          containerLog.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          containerLog.push({ msg: line });
        }
      }
    });
    container.stderr!.on('data', (chunk: Buffer) => (containerStderr += chunk.toString()));

    // Time to ready: from starting the container to the first 200 on /health/ready.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (container.exitCode !== null) {
        throw new Error(`the container exited (${container.exitCode}): ${containerStderr.slice(-2000)}`);
      }
      try {
        const response = await fetch(`http://127.0.0.1:${httpPort}/health/ready`, {
          signal: AbortSignal.timeout(2000),
        });
        if (response.status === 200) {
          readyMs = performance.now() - started;
          readyBody = (await response.json()) as typeof readyBody;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!readyBody) throw new Error(`not ready after 120 s; stderr: ${containerStderr.slice(-2000)}`);
    console.warn(`container ready ${(readyMs / 1000).toFixed(2)} s after start (runc, rootfs already unpacked)`);
  }, 900_000);

  afterAll(async () => {
    if (container && container.exitCode === null) {
      const exited = new Promise((resolve) => container!.once('exit', resolve));
      container.kill('SIGTERM'); // runc forwards it to the worker, which shuts down cleanly
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 45_000))]);
    }
    spawnSync('runc', ['delete', '--force', containerName]);
    await sender.disconnect();
    await recorder.stop();
  }, 60_000);

  it('runs as 10001 with a read-only root filesystem, a writable /tmp and no shell', (context) => {
    if (cannotRun) return context.skip(cannotRun);
    expect(JSON.parse(probeOutput)).toEqual({
      uid: 10001,
      gid: 10001,
      rootfs: 'EROFS',
      node: `v${readFileSync(join(root, '.nvmrc'), 'utf8').trim()}`,
      shell: [],
    });
  });

  it('reports ready: Kafka, the model, the archive and FHIR', (context) => {
    if (cannotRun) return context.skip(cannotRun);
    expect(readyBody?.checks).toMatchObject({
      kafka: { ok: true },
      model: { ok: true },
      archive: { ok: true },
      fhir: { ok: true },
    });
  });

  it('triages the phantom end to end: TriageCompleted, SEG and SR in Orthanc, the report on HAPI', async (context) => {
    if (cannotRun) return context.skip(cannotRun);
    const study = phantomStudy();
    await storeInstances(study.series.flatMap((s) => s.instances.map((i) => i.bytes)));
    const started = performance.now();
    const { eventId } = await sender.study({ studyInstanceUid: study.studyInstanceUid });
    const answer = await recorder.waitFor(
      'an answer from the container',
      (m: RecordedMessage) => m.json?.correlationId === eventId,
      180_000,
    );
    console.warn(`phantom triaged in the container: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // A TriageFailed's reason is the first thing to read when this fails.
    expect({ topic: answer.topic, reason: answer.json?.reason }).toEqual({
      topic: topics.triageCompleted,
      reason: undefined,
    });
    const event = answer.json as {
      segmentation: { seriesInstanceUid: string };
      structuredReport: { seriesInstanceUid: string };
      diagnosticReport: string;
      notForClinicalUse: boolean;
    };
    expect(event.notForClinicalUse).toBe(true);
    const series = await seriesOfStudy(study.studyInstanceUid);
    expect(series.find((s) => s.modality === 'SEG')).toMatchObject({
      seriesInstanceUid: event.segmentation.seriesInstanceUid,
      instances: 1,
    });
    expect(series.find((s) => s.modality === 'SR')).toMatchObject({
      seriesInstanceUid: event.structuredReport.seriesInstanceUid,
      instances: 1,
    });
    const report = await fhirGet<fhir4.DiagnosticReport>(event.diagnosticReport);
    expect(report.resourceType).toBe('DiagnosticReport');
    // The worker inside logged it: the answer came from the container, not another consumer.
    expect(
      containerLog.some((l) => l.msg === 'triage completed' && l.studyInstanceUid === study.studyInstanceUid),
    ).toBe(true);
  }, 240_000);
});
