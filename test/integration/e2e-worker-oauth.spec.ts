import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { trustCertificateAuthorities } from '@app/credentials';
import { phantomStudy } from '@app/dicom/phantom';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertReachable, stack } from '../support/stack.js';
import { buildWorker } from '../support/worker-build.js';
import {
  createTopics,
  EventSender,
  reportsReferencing,
  storeInstances,
  TopicRecorder,
  uniqueTopics,
  workerEnvironment,
  WorkerProcess,
  type RecordedMessage,
} from '../support/worker-harness.js';

/**
 * The worker writing its FHIR report through the local authorization server to HAPI's secured
 * port (HTTPS, JWTs checked, scopes enforced; docs/security.md): OAuth2 client credentials with
 * a client secret, SMART Backend Services with RS384 and ES384 keys, tokens that expire
 * mid-run, and a revoked secret (readiness fails, the study waits, it is finished once the
 * secret file is fixed, without a restart). Token endpoint round trips are counted by the
 * authorization server itself.
 */
const auth = stack.auth;
const topics = uniqueTopics('e2e-worker-oauth');
const recorder = new TopicRecorder();
const sender = new EventSender(topics.studyAvailable);
let workerMain: string;
let scratch: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
  // The test process speaks to the authorization server's admin API with the product's own trust.
  trustCertificateAuthorities(stack.tlsCaFile, 'STACK_TLS_CA_FILE');
  await assertReachable('the authorization server', `${auth.issuer}/.well-known/oauth-authorization-server`);
  scratch = mkdtempSync(join(tmpdir(), 'e2e-worker-oauth-'));
  await createTopics(topics);
  await recorder.start([topics.triageCompleted, topics.triageFailed, topics.deadLetter]);
  await sender.connect();
  workerMain = await buildWorker();
}, 180_000);

afterEach(async () => {
  for (const worker of workers.splice(0)) {
    worker.kill('SIGTERM');
    await worker.exited;
  }
  await admin('POST', '/reset');
});

afterAll(async () => {
  await sender.disconnect();
  await recorder.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${auth.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${readFileSync(auth.adminSecretFile, 'utf8').trim()}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`admin ${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

const tokensIssued = async (clientId: string) =>
  ((await admin('GET', '/tokens')) as { issued: Record<string, number> }).issued[clientId] ?? 0;

/** A worker whose FHIR server is HAPI's secured port, with these FHIR_* settings. */
async function startWorker(settings: Record<string, string>): Promise<{ worker: WorkerProcess; httpPort: number }> {
  const worker = new WorkerProcess(
    workerMain,
    workerEnvironment(topics, {
      FHIR_BASE_URL: stack.fhirSecuredBaseUrl,
      HTTPS_CA_FILE: stack.tlsCaFile,
      FHIR_TOKEN_URL: auth.tokenUrl,
      FHIR_SCOPE: auth.writeScopes,
      LOG_LEVEL: 'info',
      ...settings,
    }),
  );
  workers.push(worker);
  const started = await worker.waitForLog('worker started', (line) => line.msg === 'worker started', 120_000);
  return { worker, httpPort: Number(started['httpPort']) };
}

/** A copy of a secret file the test may rewrite (the stack's own stays as launched). */
function secretFileCopy(file: string): string {
  const copy = join(scratch, `${randomUUID()}.secret`);
  copyFileSync(file, copy);
  return copy;
}

/** Replaces a file the way a Kubernetes Secret update does: a new inode, atomically. */
function replaceFile(path: string, content: string): void {
  writeFileSync(`${path}.new`, content);
  renameSync(`${path}.new`, path);
}

async function announcePhantom(): Promise<string> {
  const study = phantomStudy();
  await storeInstances(study.series.flatMap((s) => s.instances.map((i) => i.bytes)));
  await sender.study({ studyInstanceUid: study.studyInstanceUid });
  return study.studyInstanceUid;
}

const about = (studyInstanceUid: string) => (m: RecordedMessage) => m.json?.studyInstanceUid === studyInstanceUid;

/** TriageCompleted, its report stored (read back on HAPI's open port), and no TriageFailed. */
async function expectCompleted(studyInstanceUid: string, timeoutMs = 150_000): Promise<void> {
  const answer = await recorder.waitFor('TriageCompleted', about(studyInstanceUid), timeoutMs);
  const sr = (answer.json as { structuredReport: { sopInstanceUid: string } }).structuredReport;
  expect(await reportsReferencing(sr.sopInstanceUid)).toHaveLength(1);
  expect(recorder.messages.filter(about(studyInstanceUid)).map((m) => m.topic)).toEqual([topics.triageCompleted]);
}

async function readiness(httpPort: number): Promise<{ status: number; fhir?: { ok: boolean; reason?: string } }> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/health/ready`);
  const body = (await response.json()) as { checks: { fhir?: { ok: boolean; reason?: string } } };
  return { status: response.status, ...(body.checks.fhir ? { fhir: body.checks.fhir } : {}) };
}

async function waitForReadiness(httpPort: number, status: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await readiness(httpPort);
    if (ready.status === status) return ready;
    if (Date.now() > deadline) throw new Error(`readiness stayed ${ready.status}: ${JSON.stringify(ready)}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

describe('the worker writes its FHIR report through OAuth2 (real authorization server, HAPI checking JWTs)', () => {
  it('client secret (client_secret_basic): two studies, one token between them', async () => {
    const before = await tokensIssued(auth.secretClient.id);
    const { httpPort } = await startWorker({
      FHIR_AUTH: 'client-credentials',
      FHIR_CLIENT_ID: auth.secretClient.id,
      FHIR_CLIENT_SECRET_FILE: auth.secretClient.secretFile,
    });
    await expectCompleted(await announcePhantom());
    await expectCompleted(await announcePhantom());
    expect((await readiness(httpPort)).status).toBe(200);
    // The readiness probes and both studies share one cached token.
    expect((await tokensIssued(auth.secretClient.id)) - before).toBe(1);
  });

  it.each([
    ['RS384', () => auth.rs384Client],
    ['ES384', () => auth.es384Client],
  ])('SMART Backend Services, %s client assertion', async (_algorithm, client) => {
    const before = await tokensIssued(client().id);
    await startWorker({
      FHIR_AUTH: 'private-key-jwt',
      FHIR_CLIENT_ID: client().id,
      FHIR_PRIVATE_KEY_FILE: client().keyFile,
      FHIR_KEY_ID: client().kid,
    });
    await expectCompleted(await announcePhantom());
    expect((await tokensIssued(client().id)) - before).toBe(1);
  });

  it('tokens that expire mid-run are renewed before they expire: no refused request, no failed study', async () => {
    const client = auth.shortClient;
    const { worker } = await startWorker({
      FHIR_AUTH: 'client-credentials',
      FHIR_CLIENT_ID: client.id,
      FHIR_CLIENT_SECRET_FILE: client.secretFile,
      FHIR_CLIENT_AUTH_METHOD: 'client_secret_post',
    });
    await expectCompleted(await announcePhantom());
    await new Promise((resolve) => setTimeout(resolve, (client.tokenSeconds + 2) * 1_000));
    await expectCompleted(await announcePhantom());
    const obtained = worker.lines.filter((line) => line.msg === 'FHIR access token obtained');
    expect(obtained.length).toBeGreaterThanOrEqual(2);
    // expires_in is counted from the moment the server answered: the lifetime, or a second less.
    for (const line of obtained) {
      expect(line['expiresInS']).toBeGreaterThanOrEqual(client.tokenSeconds - 1);
      expect(line['expiresInS']).toBeLessThanOrEqual(client.tokenSeconds);
    }
    // Nothing was refused on the way, and no study failed (expectCompleted).
    const refused = worker.lines.filter((line) => /refused|rejected the credentials/.test(JSON.stringify(line)));
    expect(refused).toEqual([]);
  }, 120_000);

  it('a revoked secret: readiness fails, the study waits (not parked), and it is finished once the secret file is fixed', async () => {
    const client = auth.shortClient;
    const secretFile = secretFileCopy(client.secretFile);
    const { worker, httpPort } = await startWorker({
      FHIR_AUTH: 'client-credentials',
      FHIR_CLIENT_ID: client.id,
      FHIR_CLIENT_SECRET_FILE: secretFile,
    });
    await waitForReadiness(httpPort, 200, 30_000);
    const rotated = `rotated-${randomUUID()}`;
    await admin('PUT', `/clients/${client.id}/secret`, { secret: rotated });

    // Once the token in hand expires, the old secret is refused: not ready, naming the refusal.
    const unready = await waitForReadiness(httpPort, 503, (client.tokenSeconds + 15) * 1_000);
    expect(unready.fhir?.ok).toBe(false);
    expect(unready.fhir?.reason).toMatch(/refused client .*invalid_client/);

    const studyInstanceUid = await announcePhantom();
    await worker.waitForLog(
      'the study waiting for the FHIR server',
      (line) => line.msg === 'not finished, not failed: fetching the message again after a pause',
      90_000,
    );
    expect(recorder.messages.filter(about(studyInstanceUid))).toEqual([]);

    replaceFile(secretFile, `${rotated}\n`);
    await expectCompleted(studyInstanceUid, 120_000);
    await waitForReadiness(httpPort, 200, 30_000);
    const logged = worker.lines.map((line) => JSON.stringify(line)).join('\n');
    expect(logged).not.toContain(rotated);
    expect(logged).not.toContain(readFileSync(client.secretFile, 'utf8').trim());
  }, 240_000);
});
