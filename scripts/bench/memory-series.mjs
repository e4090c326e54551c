// The studies of `npm run bench:memory`, made from real CT files: the largest DICOM CT series
// found under a folder, and fresh copies of a series (new Study, Series, Frame of Reference and
// SOP Instance UIDs at every run), optionally resampled to another slice count along the slice
// normal (nearest source slice; new positions, slice locations, instance numbers and slice
// thickness), the compressed pixel data kept byte for byte. Everything stays in memory; nothing
// is written next to the data or into the repository.
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import {
  encodeDataset,
  formatDecimalString,
  IMPLEMENTATION_CLASS_UID,
  lookupKeyword,
  newUid,
  readPart10,
} from '../../dist/libs/dicom/src/index.js';

const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';

function* filesUnder(folder) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
  }
}

/** Part 10 files only ("DICM" after the preamble): the JPEG and PNG slices of the other folders are skipped unread. */
function isPart10(path) {
  const head = Buffer.alloc(132);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, head, 0, 132, 0) === 132 && head.toString('latin1', 128, 132) === 'DICM';
  } finally {
    closeSync(fd);
  }
}

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/**
 * Every CT series of the DICOM files under `root`, largest first by voxels (rows × columns ×
 * frames summed over the instances, as the worker's memory admission counts them).
 */
export function ctSeriesUnder(root) {
  const series = new Map();
  for (const path of filesUnder(root)) {
    if (!isPart10(path)) continue;
    const { dataset } = readPart10(readFileSync(path), { untilPixelData: true });
    if (dataset.string('Modality') !== 'CT') continue;
    const uid = dataset.string('SeriesInstanceUID');
    const entry = series.get(uid) ?? { seriesInstanceUid: uid, files: [], voxels: 0 };
    entry.files.push(path);
    entry.voxels +=
      (dataset.number('Rows') ?? 0) * (dataset.number('Columns') ?? 0) * (dataset.number('NumberOfFrames') ?? 1);
    entry.rows = dataset.number('Rows');
    entry.columns = dataset.number('Columns');
    entry.description = dataset.string('SeriesDescription') ?? '';
    series.set(uid, entry);
  }
  return [...series.values()]
    .map((entry) => ({ ...entry, slices: entry.files.length }))
    .toSorted((a, b) => b.voxels - a.voxels);
}

/**
 * The file with top-level elements replaced (keyword → value, encoded as the writer does) and a
 * complete file meta group (the source's may lack elements). Only datasets stored as Explicit VR
 * Little Endian, i.e. every compressed syntax, where a value is a view into the file itself.
 */
export function rewriteInstance(bytes, replacements) {
  const { transferSyntaxUid, dataset } = readPart10(bytes);
  if ([IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, DEFLATED].includes(transferSyntaxUid)) {
    throw new Error(`bench: cannot rewrite a dataset in transfer syntax ${transferSyntaxUid}`);
  }
  let bodyStart = 132;
  while (bytes.readUInt16LE(bodyStart) === 0x0002) {
    const vr = bytes.toString('latin1', bodyStart + 4, bodyStart + 6);
    const long = ['OB', 'OW', 'UN', 'UT', 'SQ', 'UC', 'UR'].includes(vr);
    bodyStart += long ? 12 + bytes.readUInt32LE(bodyStart + 8) : 8 + bytes.readUInt16LE(bodyStart + 6);
  }
  const edits = Object.entries(replacements)
    .map(([keyword, value]) => {
      const { tag } = lookupKeyword(keyword);
      const element = dataset.element(tag);
      if (!element || element.value.buffer !== bytes.buffer) throw new Error(`bench: the source has no ${keyword}`);
      const valueStart = element.value.byteOffset - bytes.byteOffset;
      const start = valueStart - 8; // tag, VR, 16-bit length: every VR replaced here (UI, DS, IS, LO)
      if (bytes.readUInt16LE(start) !== tag >>> 16 || bytes.readUInt16LE(start + 2) !== (tag & 0xffff)) {
        throw new Error(`bench: ${keyword} is not a short-header element`);
      }
      return { start, end: valueStart + element.value.length, bytes: encodeDataset({ [keyword]: value }) };
    })
    .toSorted((a, b) => a.start - b.start);
  const sopInstanceUid = replacements.SOPInstanceUID ?? dataset.string('SOPInstanceUID');
  const meta = encodeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]),
    MediaStorageSOPClassUID: dataset.string('SOPClassUID'),
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: transferSyntaxUid,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
  });
  const chunks = [bytes.subarray(0, 132), encodeDataset({ FileMetaInformationGroupLength: meta.length }), meta];
  let at = bodyStart;
  for (const edit of edits) {
    chunks.push(bytes.subarray(at, edit.start), edit.bytes);
    at = edit.end;
  }
  chunks.push(bytes.subarray(at));
  return Buffer.concat(chunks);
}

/**
 * The plan of a series: its files in memory, sorted along the slice normal, and per output slice
 * which source file it copies and what changes besides the UIDs. With `slices`, the series is
 * resampled to that many slices spanning the source's extent (a thin-slice reconstruction of the
 * same chest: every source slice repeated about slices / source slices times).
 */
export function planSeries(files, { slices } = {}) {
  const sources = files.map((path) => {
    const bytes = readFileSync(path);
    const { dataset } = readPart10(bytes, { untilPixelData: true });
    const orientation = dataset.numbers('ImageOrientationPatient');
    const normal = cross(orientation.slice(0, 3), orientation.slice(3));
    const position = dataset.numbers('ImagePositionPatient');
    return { bytes, position, normal, distance: dot(position, normal) };
  });
  sources.sort((a, b) => a.distance - b.distance);
  if (!slices) return sources.map((source) => ({ bytes: source.bytes, replacements: {} }));
  const first = sources[0].distance;
  const last = sources.at(-1).distance;
  const spacing = (last - first) / (slices - 1);
  return Array.from({ length: slices }, (_, k) => {
    // Instance 1 is the most superior slice (largest distance along an axial normal), as in the source.
    const target = last - k * spacing;
    const nearest = sources.reduce((best, s) =>
      Math.abs(s.distance - target) < Math.abs(best.distance - target) ? s : best,
    );
    const shift = target - nearest.distance;
    return {
      bytes: nearest.bytes,
      replacements: {
        ImagePositionPatient: nearest.position.map((p, axis) => p + shift * nearest.normal[axis]),
        SliceLocation: target,
        InstanceNumber: k + 1,
        SliceThickness: Number(formatDecimalString(spacing)),
      },
    };
  });
}

/** A fresh copy of a planned series: one new study, series and frame of reference, new SOP instances. */
export function freshCopy(plan, studyDescription) {
  const uids = { StudyInstanceUID: newUid(), SeriesInstanceUID: newUid(), FrameOfReferenceUID: newUid() };
  return plan.map(({ bytes, replacements }) =>
    rewriteInstance(bytes, {
      ...uids,
      SOPInstanceUID: newUid(),
      ...(studyDescription ? { StudyDescription: studyDescription } : {}),
      ...replacements,
    }),
  );
}
