import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { crc32, inflateSync } from 'node:zlib';
import { COVID_TRIAGE_CODESYSTEM_ID } from '@app/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dciodvfy, pythonTools } from '../support/python-tools.js';
import { hasRealCt, REAL_CT_DIR } from '../support/real-data.js';
import { assertReachable, stack } from '../support/stack.js';

/**
 * `triage analyze` as a user runs it (the built dist/): the whole pipeline without Kafka on
 * the embedded phantom and on the real P001 series. Every output is checked by a reader
 * this project did not write: dciodvfy, highdicom, HAPI FHIR's $validate, and a PNG parse.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(ROOT, 'dist/apps/cli/src/main.js');
const READ_SR = join(ROOT, 'test/python/read_sr.py');
const READ_SEG_VOLUMES = join(ROOT, 'test/python/read_seg_volumes.py');
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
    const { stdout, stderr } = await run('node', [cli, ...args], { env, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

const work = mkdtempSync(join(tmpdir(), 'triage-analyze-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface LungRow {
  region: 'left' | 'right' | 'both';
  lungVolumeMl: number;
  lesionVolumeMl: number;
  percentAffected: number;
}
interface AnalyzeResult {
  disclaimer: string;
  studyInstanceUid: string;
  series: { seriesInstanceUid: string; slices: number; columns: number; rows: number };
  model: { id: string; version: string };
  covidProbability: number;
  severityPercent: number;
  priority: string;
  lungs: LungRow[];
  segmentation: { sopInstanceUid: string };
  structuredReport: { sopInstanceUid: string };
  timings: Record<string, unknown>;
  outputs: Record<'seg' | 'sr' | 'report' | 'result' | 'preview', string>;
}

/** Relative closeness: the SR and SEG carry the same numbers, up to decimal-string rounding. */
const close = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));

/** Signature, chunk CRCs, IHDR and the inflated IDAT size: a structurally valid 8-bit RGB PNG. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  const types: string[] = [];
  const idat: Buffer[] = [];
  let header: Buffer = Buffer.alloc(0);
  for (let at = 8; at < bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    expect({ type, crc: bytes.readUInt32BE(at + 8 + length) }).toEqual({
      type,
      crc: crc32(bytes.subarray(at + 4, at + 8 + length)),
    });
    if (type === 'IHDR') header = bytes.subarray(at + 8, at + 8 + length);
    if (type === 'IDAT') idat.push(bytes.subarray(at + 8, at + 8 + length));
    types.push(type);
    at += 12 + length;
  }
  expect(types[0]).toBe('IHDR');
  const [width, height] = [header.readUInt32BE(0), header.readUInt32BE(4)];
  expect([header[8], header[9]]).toEqual([8, 2]); // 8-bit RGB
  expect(types.at(-1)).toBe('IEND');
  expect(inflateSync(Buffer.concat(idat)).length).toBe((width * 3 + 1) * height);
  return { width, height };
}

async function fhirValidate(resource: fhir4.Resource): Promise<string[]> {
  const response = await fetch(`${stack.fhirBaseUrl}/${resource.resourceType}/$validate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json' },
    body: JSON.stringify(resource),
    signal: AbortSignal.timeout(60_000),
  });
  const outcome = (await response.json()) as fhir4.OperationOutcome;
  expect(outcome.resourceType).toBe('OperationOutcome');
  return outcome.issue
    .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')
    .map((issue) => `${resource.resourceType}: ${issue.diagnostics ?? ''} @ ${issue.expression?.join(',') ?? ''}`);
}

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
  await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
  // The validator must know our local CodeSystem (as the deployment uploads it).
  const codeSystem = readFileSync(join(ROOT, 'libs/fhir/codesystem/covid-triage.codesystem.json'), 'utf8');
  const put = await fetch(`${stack.fhirBaseUrl}/CodeSystem/${COVID_TRIAGE_CODESYSTEM_ID}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/fhir+json' },
    body: codeSystem,
  });
  if (!put.ok) throw new Error(`PUT CodeSystem answered HTTP ${put.status}`);
});

const studies = [
  { name: 'the embedded phantom study', args: [] as string[], slices: 120 },
  ...(hasRealCt ? [{ name: 'the real P001 series', args: [join(REAL_CT_DIR, 'P001')], slices: 148 }] : []),
];

describe.each(studies)('triage analyze on $name', ({ name, args, slices }) => {
  const out = join(work, name.replaceAll(' ', '-'));
  let result: AnalyzeResult;
  let stderr = '';

  beforeAll(async () => {
    const ran = await triage('analyze', ...args, '--out', out, '--threads', '2');
    stderr = ran.stderr;
    if (ran.code !== 0) throw new Error(`triage analyze exited ${ran.code}:\n${ran.stderr}`);
    result = JSON.parse(ran.stdout) as AnalyzeResult;
  }, 600_000);

  it('writes the five outputs and prints the summary it saves, with the disclaimer', () => {
    for (const file of ['seg.dcm', 'sr.dcm', 'report.bundle.json', 'result.json', 'preview.png']) {
      expect({ file, exists: existsSync(join(out, file)) }).toEqual({ file, exists: true });
    }
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'))).toEqual(result);
    expect(result.disclaimer).toMatch(/NOT FOR CLINICAL USE/);
    expect(result.series.slices).toBe(slices);
    expect(result.covidProbability).toBeGreaterThanOrEqual(0);
    expect(result.covidProbability).toBeLessThanOrEqual(1);
    expect(['routine', 'elevated', 'urgent']).toContain(result.priority);
    expect(result.timings).toMatchObject({ fetchStudyMs: expect.any(Number), analyzeMs: expect.any(Number) });
    // Progress on stderr, one line per step; no patient data there.
    expect(stderr).toMatch(/step writeReport done/);
    expect(stderr).not.toMatch(/PatientName|PatientBirthDate/);
  });

  it('writes a SEG and an SR that dciodvfy finds no error in', () => {
    const { dciodvfy: binary } = pythonTools();
    for (const file of ['seg.dcm', 'sr.dcm']) {
      const checked = dciodvfy(join(out, file), binary);
      expect({ file, errors: checked.errors }).toEqual({ file, errors: [] });
    }
  });

  it('writes a SEG that highdicom reads back into the volumes the command reported', () => {
    const read = JSON.parse(
      execFileSync(pythonTools().python, [READ_SEG_VOLUMES, join(out, 'seg.dcm')], { encoding: 'utf8' }),
    ) as {
      segments: { number: number; label: string; voxels: number }[];
      voxelMl: number;
      shape: number[];
      referencedSeries: string[];
      studyInstanceUid: string;
    };
    expect(read.segments.map((s) => s.label)).toEqual(['Left lung', 'Right lung', 'COVID-19 lesion']);
    expect(read.shape).toEqual([result.series.slices, result.series.rows, result.series.columns, 3]);
    expect(read.referencedSeries).toEqual([result.series.seriesInstanceUid]);
    expect(read.studyInstanceUid).toBe(result.studyInstanceUid);
    const row = (region: LungRow['region']) => result.lungs.find((l) => l.region === region)!;
    close(read.segments[0].voxels * read.voxelMl, row('left').lungVolumeMl);
    close(read.segments[1].voxels * read.voxelMl, row('right').lungVolumeMl);
    // Lesions lie inside the lungs, so the lesion segment is the lesion of both lungs.
    close(read.segments[2].voxels * read.voxelMl, row('both').lesionVolumeMl);
  });

  it('writes an SR whose measurements are the numbers of result.json', () => {
    const json = join(out, 'sr-read.json');
    execFileSync(pythonTools().python, [READ_SR, join(out, 'sr.dcm'), json], { stdio: ['ignore', 'ignore', 'pipe'] });
    const sr = JSON.parse(readFileSync(json, 'utf8')) as {
      pydicom: { sopInstanceUid: string; studyInstanceUid: string };
      highdicom: {
        volumetricGroups: { measurements: { value: number; unit: { value: string } }[] }[];
        imageGroups: { measurements: { name: { meaning: string }; value: number }[] }[];
      };
    };
    expect(sr.pydicom.sopInstanceUid).toBe(result.structuredReport.sopInstanceUid);
    expect(sr.pydicom.studyInstanceUid).toBe(result.studyInstanceUid);
    const groups = sr.highdicom.volumetricGroups;
    for (const [i, region] of (['left', 'right', 'both'] as const).entries()) {
      const want = result.lungs.find((l) => l.region === region)!;
      close(groups[i].measurements[0].value, want.lungVolumeMl);
      close(groups[3 + i].measurements[0].value, want.lesionVolumeMl);
      close(groups[3 + i].measurements[1].value, want.percentAffected);
    }
    const [probability, severity] = sr.highdicom.imageGroups[0].measurements;
    expect(probability.name.meaning).toBe('Probability');
    close(probability.value, result.covidProbability);
    close(severity.value, result.severityPercent);
  });

  it('writes a FHIR Bundle that HAPI FHIR $validate finds no error in', async () => {
    const bundle = JSON.parse(readFileSync(join(out, 'report.bundle.json'), 'utf8')) as fhir4.Bundle;
    expect(bundle.type).toBe('transaction');
    const errors = await fhirValidate(bundle);
    for (const entry of bundle.entry ?? []) errors.push(...(await fhirValidate(entry.resource!)));
    expect(errors).toEqual([]);
    const report = bundle.entry!.find((e) => e.resource?.resourceType === 'DiagnosticReport')!.resource!;
    expect(JSON.stringify(report)).toContain(result.studyInstanceUid);
  }, 300_000);

  it('writes a preview montage that parses as a PNG', () => {
    const { width, height } = pngSize(readFileSync(join(out, 'preview.png')));
    expect(width).toBeGreaterThanOrEqual(800);
    expect(height).toBeGreaterThanOrEqual(800);
  });
});

describe('triage analyze: wrong usage and typed errors', () => {
  it('explains its usage (exit 2) on a bad option or value', async () => {
    for (const args of [['--threads', '0'], ['--frobnicate'], ['a', 'b']]) {
      const result = await triage('analyze', ...args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(/usage: triage analyze/);
    }
  });

  it('fails with a typed JSON error (exit 1) on an unknown study in the archive', async () => {
    await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
    const result = await triage('analyze', `${stack.dicomwebUrl}/studies/1.2.3.999`, '--out', join(work, 'unknown'));
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr.trim().split('\n').at(-1)!)).toMatchObject({ error: 'STUDY_NOT_FOUND' });
  });

  it('fails with a typed JSON error (exit 1) when the model manifest is missing', async () => {
    const result = await triage('analyze', '--model', join(work, 'nowhere/manifest.json'), '--out', join(work, 'm'));
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr.trim().split('\n').at(-1)!)).toMatchObject({
      message: expect.stringMatching(/manifest/),
    });
  });
});
