import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFrame, type PixelDescription, type StoredPixels } from '@app/dicom';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Our JPEG Lossless decoder against the real JPEG Lossless SV1 series in
 * ../shared/data/covid-ct-md (see its README): every frame of P001, cap001 and
 * normal001 (470), compared pixel for pixel with dcmtk's dcmdjpeg (IJG-based,
 * independent of ours), read back with dicom-parser. The data is never copied
 * into the repository.
 */

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const CT_DIR = resolve(projectRoot, '../shared/data/covid-ct-md');
const hasCt = existsSync(join(CT_DIR, 'P001'));
if (!hasCt) console.warn(`real CT sample data not found at ${CT_DIR}; skipping`);

const JPEG_LOSSLESS_SV1 = '1.2.840.10008.1.2.4.70';

interface Instance {
  file: string;
  transferSyntaxUid: string;
  frame: Uint8Array;
  pixel: PixelDescription;
  rescaleIntercept: number;
  rescaleSlope: number;
}

function read(file: string): Instance {
  const dataSet = dicomParser.parseDicom(readFileSync(file));
  const element = dataSet.elements['x7fe00010'];
  if (!element?.encapsulatedPixelData) throw new Error(`${file}: no encapsulated pixel data`);
  const frame = dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, element.fragments!.length);
  const us = (tag: string) => dataSet.uint16(tag) ?? Number.NaN;
  return {
    file,
    transferSyntaxUid: dataSet.string('x00020010') ?? '',
    frame: new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength),
    pixel: {
      rows: us('x00280010'),
      columns: us('x00280011'),
      samplesPerPixel: us('x00280002'),
      bitsAllocated: us('x00280100'),
      bitsStored: us('x00280101'),
      highBit: us('x00280102'),
      pixelRepresentation: us('x00280103') === 1 ? 1 : 0,
      photometricInterpretation: dataSet.string('x00280004') ?? '',
    },
    rescaleIntercept: dataSet.floatString('x00281052') ?? 0,
    rescaleSlope: dataSet.floatString('x00281053') ?? 1,
  };
}

/** dcmdjpeg's decode of `file` (Explicit VR Little Endian), as unsigned 16-bit stored values. */
function referenceDecode(file: string, scratch: string): Uint16Array {
  const out = join(scratch, 'reference.dcm');
  execFileSync('dcmdjpeg', [file, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  const dataSet = dicomParser.parseDicom(readFileSync(out));
  const element = dataSet.elements['x7fe00010'];
  if (!element || element.encapsulatedPixelData) throw new Error(`dcmdjpeg wrote no native pixel data for ${file}`);
  const bytes = dataSet.byteArray.slice(element.dataOffset, element.dataOffset + element.length);
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

/** Precision declared by the JPEG frame header (SOF3), and the predictor of the scan. */
function jpegHeader(frame: Uint8Array): { sof: number; precision: number; predictor: number } {
  let pos = 2;
  let sof = 0;
  let precision = 0;
  while (pos + 4 <= frame.length) {
    const marker = frame[pos + 1];
    const length = (frame[pos + 2] << 8) | frame[pos + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xcc) {
      sof = marker;
      precision = frame[pos + 4];
    }
    if (marker === 0xda) return { sof, precision, predictor: frame[pos + 5 + 2 * frame[pos + 4]] };
    pos += 2 + length;
  }
  throw new Error('no SOS');
}

function firstMismatch(decoded: StoredPixels, reference: Uint16Array): string | undefined {
  if (decoded.length !== reference.length) return `length ${decoded.length} vs ${reference.length}`;
  for (let i = 0; i < decoded.length; i++) {
    if (decoded[i] !== reference[i]) return `pixel ${i}: ${decoded[i]} vs dcmdjpeg ${reference[i]}`;
  }
  return undefined;
}

function huRange(instance: Instance, stored: StoredPixels): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const value of stored) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const hu = (v: number) => v * instance.rescaleSlope + instance.rescaleIntercept;
  return [hu(min), hu(max)];
}

function dicomFiles(folder: string): string[] {
  return readdirSync(join(CT_DIR, folder))
    .filter((name) => name.endsWith('.dcm'))
    .toSorted()
    .map((name) => join(CT_DIR, folder, name));
}

describe.skipIf(!hasCt)('pixel decoding of the real COVID-CT-MD series (JPEG Lossless SV1)', () => {
  let scratch = '';
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'pixel-real-'));
    try {
      execFileSync('dcmdjpeg', ['--version'], { stdio: 'ignore' });
    } catch (error) {
      throw new Error('dcmdjpeg (dcmtk) is the reference decoder of this test and is not installed', { cause: error });
    }
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each([
    ['P001', 148, 1563],
    ['cap001', 168, 2019],
    ['normal001', 154, 1679],
  ])(
    '%s: all %i frames equal dcmdjpeg pixel for pixel; HU -1024 … %i',
    async (folder, slices, seriesMaxHu) => {
      const instances = dicomFiles(folder).map(read);
      expect(instances).toHaveLength(slices);

      const started = performance.now();
      const decoded: StoredPixels[] = [];
      for (const instance of instances) {
        decoded.push(await decodeFrame(instance.transferSyntaxUid, instance.frame, instance.pixel));
      }
      const elapsedMs = performance.now() - started;

      let seriesMin = Infinity;
      let seriesMax = -Infinity;
      const mismatches: string[] = [];
      instances.forEach((instance, i) => {
        expect(instance.transferSyntaxUid).toBe(JPEG_LOSSLESS_SV1);
        expect(instance.pixel).toMatchObject({
          rows: 512,
          columns: 512,
          bitsAllocated: 16,
          bitsStored: 12,
          pixelRepresentation: 0,
        });
        // The data's quirk: a 16-bit JPEG frame header over BitsStored 12.
        expect(jpegHeader(instance.frame)).toEqual({ sof: 0xc3, precision: 16, predictor: 1 });
        expect(decoded[i]).toBeInstanceOf(Uint16Array);
        const mismatch = firstMismatch(decoded[i], referenceDecode(instance.file, scratch));
        if (mismatch) mismatches.push(`${instance.file}: ${mismatch}`);
        const [min, max] = huRange(instance, decoded[i]);
        seriesMin = Math.min(seriesMin, min);
        seriesMax = Math.max(seriesMax, max);
      });
      console.warn(
        `${folder}: decoded ${slices} frames of 512 x 512 in ${elapsedMs.toFixed(0)} ms (${(elapsedMs / slices).toFixed(1)} ms/frame); ` +
          `${slices - mismatches.length}/${slices} identical to dcmdjpeg; HU ${seriesMin} … ${seriesMax}`,
      );
      expect(mismatches).toEqual([]);
      expect([seriesMin, seriesMax]).toEqual([-1024, seriesMaxHu]);
      // Not the silent all-zero failure: every slice has body and air.
      for (const stored of decoded) expect(new Set(stored).size).toBeGreaterThan(100);
      expect(elapsedMs).toBeLessThan(60_000);
    },
    300_000,
  );
});
