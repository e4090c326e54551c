import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeflateRaw, inflateRawSync } from 'node:zlib';
import { frameBytes, newUid, readPart10, SopClass, writePart10, type Dataset } from '@app/dicom';
import {
  syntheticCtSeries,
  syntheticEnhancedCt,
  type SyntheticCtOptions,
  type SyntheticCtSeries,
} from '@app/dicom/phantom';
import type { StudyAvailableInit } from '@app/messaging';
import { storeInOrthanc, storeInstances } from './worker-harness.js';

/**
 * Builders for the bad-input corpus (test/integration/bad-input-corpus.spec.ts): every DICOM
 * input is the small good study below with one defect, so that the defect, and nothing else,
 * decides the answer. Every call makes fresh UIDs (Orthanc keeps what earlier runs stored).
 */

/**
 * A small chest phantom the demonstration model finds lungs in: 64 × 64 pixels of 5.4 mm
 * (a 346 mm field of view), 16 slices of 2 mm, the fewest that series selection accepts.
 */
export const GOOD_SERIES: SyntheticCtOptions = {
  rows: 64,
  columns: 64,
  slices: 16,
  pixelSpacing: [5.4, 5.4],
  origin: [-172.8, -172.8, -60],
};

/** What the corpus sends for one input: a StudyAvailable, or raw bytes (and headers) on the topic. */
export type Announcement =
  | { study: StudyAvailableInit }
  /** `correlatesTo`: the eventId its TriageFailed names, where the body itself is readable. */
  | { raw: Buffer; headers?: Record<string, string>; correlatesTo?: string };

/** Raw JSON on the topic, as a producer that does not follow the schema writes it. */
export const rawJson = (fields: unknown, headers?: Record<string, string>): Announcement => ({
  raw: Buffer.from(JSON.stringify(fields)),
  ...(headers ? { headers } : {}),
});

/**
 * Stores the files of one study and announces it. `unidentifiable` files go in through
 * Orthanc's REST API: our STOW client parses each file to match the answer, and cannot.
 */
export async function stored(files: readonly Uint8Array[], unidentifiable: Uint8Array[] = []): Promise<Announcement> {
  const studyInstanceUid = readPart10(files[0], { untilPixelData: true }).dataset.string('StudyInstanceUID')!;
  await storeInOrthanc(unidentifiable);
  await storeInstances(files);
  return { study: { studyInstanceUid } };
}

/** The good series with some options changed, as Part 10 files. */
export function series(options: SyntheticCtOptions = {}): Buffer[] {
  return syntheticCtSeries({ ...GOOD_SERIES, ...options }).instances.map((i) => i.bytes);
}

/**
 * The good series (with `options`) and a variant of it with `changes`: the same study, series
 * and frame of reference, fresh SOP Instance UIDs; `changes` may depend on the first.
 */
export function seriesAndVariant(
  changes: SyntheticCtOptions | ((base: SyntheticCtSeries) => SyntheticCtOptions),
  options: SyntheticCtOptions = {},
): { base: Buffer[]; variant: Buffer[] } {
  const base = syntheticCtSeries({ ...GOOD_SERIES, ...options });
  const variant = syntheticCtSeries({
    ...GOOD_SERIES,
    ...options,
    ...(typeof changes === 'function' ? changes(base) : changes),
    studyInstanceUid: base.studyInstanceUid,
    seriesInstanceUid: base.seriesInstanceUid,
    frameOfReferenceUid: base.frameOfReferenceUid,
  });
  return { base: base.instances.map((i) => i.bytes), variant: variant.instances.map((i) => i.bytes) };
}

/** The good series (with `options`) in which the slices at `indices` come from the variant. */
export function slicesReplaced(
  indices: readonly number[],
  changes: Parameters<typeof seriesAndVariant>[0],
  options: SyntheticCtOptions = {},
): Buffer[] {
  const { base, variant } = seriesAndVariant(changes, options);
  return base.map((file, k) => (indices.includes(k) ? variant[k] : file));
}

/** ImageOrientationPatient of an axial image turned about the feet–head axis. */
export function axialTurned(degrees: number): [number, number, number, number, number, number] {
  const r = (degrees * Math.PI) / 180;
  return [Math.cos(r), Math.sin(r), 0, -Math.sin(r), Math.cos(r), 0];
}

/** An 8-bit RGB series of the good geometry (a screenshot-like CT). */
export function rgbSeries(): Buffer[] {
  const { rows = 64, columns = 64 } = GOOD_SERIES;
  return series({
    attributes: {
      SamplesPerPixel: 3,
      PhotometricInterpretation: 'RGB',
      PlanarConfiguration: 0,
      BitsAllocated: 8,
      BitsStored: 8,
      HighBit: 7,
      PixelData: { vr: 'OB', value: new Uint8Array(rows * columns * 3) },
    },
  });
}

/** The good geometry as one Enhanced CT instance whose per-frame groups are `perFrame` (one per slice position). */
export function enhancedWithPerFrameGroups(perFrame: (position: number[]) => Dataset, frames?: number): Buffer {
  const positions = syntheticCtSeries({ ...GOOD_SERIES, rows: 2, columns: 2 }).instances.map((i) => i.position);
  return syntheticEnhancedCt({
    ...GOOD_SERIES,
    instanceAttributes: { PerFrameFunctionalGroupsSequence: positions.slice(0, frames).map(perFrame) },
  }).instance;
}

/** An Enhanced CT of the good geometry whose headers claim `rows` × `columns` frames; its pixel data is 8 × 8. */
export function enhancedClaiming(frames: number, rows: number, columns: number): Buffer {
  return syntheticEnhancedCt({
    ...GOOD_SERIES,
    rows: 8,
    columns: 8,
    slices: frames,
    instanceAttributes: { Rows: rows, Columns: columns },
  }).instance;
}

/** A study holding only a SEG and an SR (no pixels), as if only derived objects had been sent. */
export function segAndSrOnly(): Buffer[] {
  const studyInstanceUid = newUid();
  const common = () => ({
    PatientName: 'PHANTOM^SYNTHETIC',
    PatientID: 'PHANTOM-0001',
    StudyInstanceUID: studyInstanceUid,
    SeriesInstanceUID: newUid(),
    SOPInstanceUID: newUid(),
    InstanceNumber: 1,
  });
  return [
    writePart10({ SOPClassUID: SopClass.Segmentation, Modality: 'SEG', ...common() }),
    writePart10({ SOPClassUID: SopClass.ComprehensiveSR, Modality: 'SR', ValueType: 'CONTAINER', ...common() }),
  ];
}

/** A sequence nested `depth` levels deep (SourceImageSequence in itself). */
export function nestedSequence(depth: number): Dataset[] {
  return depth === 0 ? [] : [{ SourceImageSequence: nestedSequence(depth - 1) }];
}

// ---------------------------------------------------------------- DCMTK and codestreams

/** Runs `tool` on a copy of `file` in a temporary folder; `run` gives its arguments and the path to read back. */
function withDcmtk(tool: string, file: Buffer, run: (input: string, output: string) => [string[], string]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'bad-input-'));
  try {
    const input = join(dir, 'in.dcm');
    writeFileSync(input, file);
    const [args, result] = run(input, join(dir, 'out.dcm'));
    execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return readFileSync(result);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every file re-encoded by a DCMTK converter (`tool args in out`), a tool this project did not write. */
export function dcmtk(tool: string, args: string[], files: readonly Buffer[]): Buffer[] {
  return files.map((file) => withDcmtk(tool, file, (input, output) => [[...args, input, output], output]));
}

/** The file with attributes changed by DCMTK's dcmodify (`-m "(gggg,eeee)=value"`, …). */
export function dcmodify(file: Buffer, args: string[]): Buffer {
  return withDcmtk('dcmodify', file, (input) => [['-nb', ...args, input], input]);
}

/** The good series in JPEG Lossless SV1 (dcmcjpeg +e1), each codestream passed through `change`. */
export function jpegLossless(change: (codestream: Uint8Array, index: number) => Uint8Array = (c) => c): Buffer[] {
  return dcmtk('dcmcjpeg', ['+e1'], series()).map((file, index) =>
    withCodestream(file, (codestream) => change(codestream, index)),
  );
}

const PIXEL_DATA_UNDEFINED_LENGTH = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);

function item(tag: number, content: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0xfffe, 0);
  header.writeUInt16LE(tag, 2);
  header.writeUInt32LE(content.length, 4);
  return Buffer.concat([header, content]);
}

/**
 * A single-frame encapsulated file (as DCMTK writes it: PixelData last) with its codestream
 * changed, written back as one fragment after an empty offset table.
 */
export function withCodestream(file: Buffer, change: (codestream: Uint8Array) => Uint8Array): Buffer {
  const [codestream] = frameBytes(readPart10(file));
  const at = file.lastIndexOf(PIXEL_DATA_UNDEFINED_LENGTH);
  if (at < 0) throw new Error('no encapsulated PixelData');
  const changed = change(codestream);
  if (changed.length % 2 !== 0) throw new Error('a fragment has an even length');
  return Buffer.concat([
    file.subarray(0, at + PIXEL_DATA_UNDEFINED_LENGTH.length),
    item(0xe000, new Uint8Array(0)),
    item(0xe000, changed),
    item(0xe0dd, new Uint8Array(0)),
  ]);
}

/** Random bytes of the codestream's length: garbage where a JPEG stream should be. */
export const garbage = (codestream: Uint8Array): Uint8Array => randomBytes(codestream.length);

/**
 * A Deflated Explicit VR Little Endian file (DCMTK's dcmconv +td) that inflates to more than
 * `inflatedMiB`: its dataset followed by Data Set Trailing Padding (FFFC,FFFC) of zeros,
 * deflated as a stream so that the zeros never sit in memory here. About 1 MB on the wire.
 */
export async function deflateBomb(file: Buffer, inflatedMiB: number): Promise<Buffer> {
  const [deflated] = dcmtk('dcmconv', ['+td'], [file]);
  const metaEnd = 132 + 12 + deflated.readUInt32LE(140); // preamble, DICM, group length element, meta
  const dataset = inflateRawSync(deflated.subarray(metaEnd));
  const padding = Buffer.alloc(12);
  padding.writeUInt16LE(0xfffc, 0);
  padding.writeUInt16LE(0xfffc, 2);
  padding.write('OB', 4, 'latin1');
  padding.writeUInt32LE(inflatedMiB * 2 ** 20, 8);
  const deflate = createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => deflate.on('end', resolve));
  deflate.write(dataset);
  deflate.write(padding);
  const zeros = Buffer.alloc(2 ** 20);
  for (let i = 0; i < inflatedMiB; i++) {
    if (!deflate.write(zeros)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await ended;
  return Buffer.concat([deflated.subarray(0, metaEnd), ...chunks]);
}
