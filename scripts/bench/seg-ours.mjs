// Ours in `npm run bench:seg`: encode the same three-segment 512x512x148 masks as
// seg-peer.py through the product's SEG writer (the built dist/), BINARY and LABELMAP.
// Mask and geometry set-up are not timed; a small warm-up encode of each type runs first,
// as in the peer. Prints one JSON line: ms (BINARY), labelmapMs, sizes, frames, voxel counts.
import { JsonAttributes, SopClass } from '../../dist/libs/dicom/src/index.js';
import { COVID_LESION, LEFT_LUNG, RIGHT_LUNG, encodeSegmentation } from '../../dist/libs/seg/src/index.js';

const CT_IMAGE = SopClass.CtImage;
const uid = (n) => `2.25.${1000000 + n}`; // the same UIDs as the peer

/** The geometry of the real P001 series: axial, head-first, 0.75 mm pixels, 2 mm slices. */
function geometry(size, slices) {
  const spacing = [0.75, 0.75, 2];
  const origin = [-191.625, -191.625, -346.1];
  const sliceList = Array.from({ length: slices }, (_, k) => ({
    source: { sopClassUid: CT_IMAGE, sopInstanceUid: uid(100 + k) },
    position: [origin[0], origin[1], origin[2] + k * spacing[2]],
    rescaleSlope: 1,
    rescaleIntercept: -1024,
  }));
  return {
    geometry: {
      columns: size,
      rows: size,
      slices,
      spacing,
      origin,
      directions: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
      imageOrientation: [1, 0, 0, 0, 1, 0],
      affine: [],
      frameOfReferenceUid: uid(3),
    },
    slices: sliceList,
  };
}

/** Ellipsoid in voxel indices, integer arithmetic only, so that numpy draws exactly the same voxels. */
function ellipsoid(size, slices, [ci, cj, ck], [ri, rj, rk]) {
  const mask = new Uint8Array(size * size * slices);
  const [a, b, c] = [rj * rj * rk * rk, ri * ri * rk * rk, ri * ri * rj * rj];
  const limit = ri * ri * rj * rj * rk * rk;
  for (let k = 0; k < slices; k++)
    for (let j = 0; j < size; j++)
      for (let i = 0; i < size; i++) {
        const di = i - ci;
        const dj = j - cj;
        const dk = k - ck;
        if (di * di * a + dj * dj * b + dk * dk * c <= limit) mask[(k * size + j) * size + i] = 1;
      }
  return mask;
}

/** Left lung, right lung (image +i is patient left), and a lesion inside the left lung. */
function masks(size, slices) {
  const s = size / 512;
  const t = slices / 148;
  const lungRadii = [Math.round(80 * s), Math.round(150 * s), Math.round(62 * t)];
  return [
    ellipsoid(size, slices, [Math.round(348 * s), Math.round(256 * s), Math.round(74 * t)], lungRadii),
    ellipsoid(size, slices, [Math.round(164 * s), Math.round(256 * s), Math.round(74 * t)], lungRadii),
    ellipsoid(
      size,
      slices,
      [Math.round(370 * s), Math.round(220 * s), Math.round(80 * t)],
      [Math.round(40 * s), Math.round(40 * s), Math.round(15 * t)],
    ),
  ];
}

function encode(size, slices, segmentationType, maskList) {
  const volume = geometry(size, slices);
  const source = new JsonAttributes({
    '00080016': { vr: 'UI', Value: [CT_IMAGE] },
    '00080018': { vr: 'UI', Value: [uid(100)] },
    '0020000D': { vr: 'UI', Value: [uid(1)] },
    '0020000E': { vr: 'UI', Value: [uid(2)] },
    '00100020': { vr: 'LO', Value: ['BENCH'] },
  });
  const segments = [LEFT_LUNG, RIGHT_LUNG, COVID_LESION].map((descriptor, s) => ({ ...descriptor, mask: maskList[s] }));
  const algorithm = { id: 'bench', name: 'bench model', version: '1' };
  const start = performance.now();
  const result = encodeSegmentation({
    volume,
    sourceInstance: source,
    algorithm,
    segments,
    options: { segmentationType },
  });
  return { ms: performance.now() - start, bytes: result.bytes.length, frames: result.frameCount };
}

const [SIZE, SLICES] = [512, 148];
const small = masks(64, 16);
encode(64, 16, 'BINARY', small);
encode(64, 16, 'LABELMAP', small);
const big = masks(SIZE, SLICES);
const binary = encode(SIZE, SLICES, 'BINARY', big);
const labelmap = encode(SIZE, SLICES, 'LABELMAP', big);
const peakRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  `${JSON.stringify({
    ms: binary.ms,
    labelmapMs: labelmap.ms,
    peakRssMb,
    binaryBytes: binary.bytes,
    labelmapBytes: labelmap.bytes,
    binaryFrames: binary.frames,
    labelmapFrames: labelmap.frames,
    voxels: big.map((mask) => mask.reduce((n, v) => n + v, 0)),
  })}\n`,
);
