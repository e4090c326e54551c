import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertReachable, stack } from '../support/stack.js';

/** The `triage` command as a user runs it (the built dist/, as after `npm ci && npm run build`). */
const cli = fileURLToPath(new URL('../../dist/apps/cli/src/main.js', import.meta.url));
const run = promisify(execFile);
const env = {
  ...process.env,
  DICOMWEB_BASE_URL: stack.dicomwebUrl,
  ALLOW_INSECURE_HTTP: 'true', // the local Orthanc speaks plain http
  DICOMWEB_AUTH: 'basic',
  DICOMWEB_USERNAME: stack.orthancUsername,
  DICOMWEB_PASSWORD: stack.orthancPassword,
};
const triage = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await run('node', [cli, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

const work = mkdtempSync(join(tmpdir(), 'triage-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('triage CLI (built) against the real archive', () => {
  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
    await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  });

  it('writes the phantom, stores it, and inspects it from the folder and from the archive alike', async () => {
    const folder = join(work, 'phantom');
    const phantom = await triage('phantom', folder);
    expect(phantom.code).toBe(0);
    const { studyInstanceUid } = JSON.parse(phantom.stdout) as { studyInstanceUid: string };

    const stored = await triage('store', folder);
    expect(stored.code).toBe(0);
    expect(JSON.parse(stored.stdout)).toMatchObject({ files: 169, stored: 169, failed: [] });

    const fromFolder = JSON.parse((await triage('inspect', folder)).stdout);
    const fromArchive = JSON.parse(
      (await triage('inspect', `${stack.dicomwebUrl}/studies/${studyInstanceUid}`)).stdout,
    );
    for (const report of [fromFolder, fromArchive]) {
      expect(report.studyInstanceUid).toBe(studyInstanceUid);
      expect(report.chosenSeries.description).toBe('Thorax 2.0 lung');
      expect(report.dimensions).toEqual({ columns: 192, rows: 192, slices: 120 });
      expect(report.spacingMm).toEqual({ column: 1.8, row: 1.8, slice: 2 });
      expect(report.huRange).toEqual({ min: -1000, max: 40 });
      expect(report.rejectedSeries).toHaveLength(2);
    }
    expect(fromArchive.source).toBe(`${stack.dicomwebUrl}/studies/${studyInstanceUid}`);
    const { source: _a, unreadableInstances: _b, ...restFolder } = fromFolder;
    const { source: _c, unreadableInstances: _d, ...restArchive } = fromArchive;
    expect(restArchive).toEqual(restFolder);
  });

  it('fails with a typed JSON error and exit code 1 on an unknown study', async () => {
    const result = await triage('inspect', `${stack.dicomwebUrl}/studies/1.2.3.999`);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: 'STUDY_NOT_FOUND' });
  });

  it('explains its usage on a wrong command', async () => {
    const result = await triage('frobnicate');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/usage: triage inspect/);
  });

  it('sends the configured credentials to DICOMWEB_BASE_URL only, never to another server named on the command line', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const elsewhere = createServer((request, response) => {
      seen.push(request.headers);
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    try {
      const root = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/dicom-web`;
      const result = await triage('inspect', `${root}/studies/1.2.3.4`);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('is not DICOMWEB_BASE_URL; no credentials are sent to it');
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.map((headers) => headers.authorization)).toEqual(seen.map(() => undefined));
      // The configured archive itself still gets them (the first test inspected it through its URL).
    } finally {
      await new Promise((resolve) => elsewhere.close(resolve));
    }
  });
});
