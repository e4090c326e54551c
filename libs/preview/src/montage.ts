import type { CtVolume } from '@app/dicom';
import { drawText, fillRect, GLYPH_HEIGHT, textWidth } from './bitmap-font.js';
import { assertMaskSizes, chooseKeySlices, type KeySlice, type PreviewMasks } from './key-slices.js';
import { createRgbImage, encodePng, type RgbImage } from './png-encoder.js';

type Rgb = [number, number, number];

export const PREVIEW_COLOURS = {
  rightLung: [0, 190, 255] as Rgb,
  leftLung: [255, 200, 0] as Rgb,
  lesion: [255, 40, 40] as Rgb,
  text: [235, 235, 235] as Rgb,
  warning: [255, 120, 60] as Rgb,
  background: [16, 16, 16] as Rgb,
};

/** The lesion fill's opacity: the CT under it stays readable. */
export const LESION_OPACITY = 0.45;

/** Lung window (centre −600 HU, width 1500 HU), as radiologists read lung parenchyma. */
export const LUNG_WINDOW = { center: -600, width: 1500 };

export interface PreviewOptions {
  /** Key slices in the montage (default 9). */
  tiles?: number;
  /** Tiles per montage row (default 3). */
  tilesPerRow?: number;
  /** Edge of each square tile in pixels (default 256). */
  tileSize?: number;
  window?: { center: number; width: number };
  /** Lines printed under the title, e.g. the probability and the severity. */
  caption?: string[];
}

export type PreviewVolume = Pick<CtVolume, 'geometry' | 'hu'>;

/** Where a key slice's image lies in the montage (its drawn area, without the tile's black border). */
export interface TilePlacement {
  slice: KeySlice;
  x: number;
  y: number;
  width: number;
  height: number;
}

export const PREVIEW_TITLE = 'COVID-19 CT TRIAGE - DEMONSTRATION MODEL';
export const NOT_FOR_CLINICAL_USE = 'NOT FOR CLINICAL USE';

const SCALE = 2;
const GAP = 8;
const LINE = GLYPH_HEIGHT * SCALE + 6;

/**
 * A montage of key axial slices in the lung window: each lung outlined in its colour,
 * lesions filled half-transparent, a title, caption and legend that say the model is a
 * demonstration. Slices run from head to feet; images are shown in the radiological
 * convention (patient's right on the left, anterior up) whatever the stored orientation.
 */
export function renderMontage(
  volume: PreviewVolume,
  masks: PreviewMasks,
  options: PreviewOptions = {},
): { image: RgbImage; slices: KeySlice[]; tiles: TilePlacement[] } {
  const { geometry } = volume;
  assertMaskSizes(geometry, masks);
  const tileSize = options.tileSize ?? 256;
  const chosen = chooseKeySlices(geometry, masks, options.tiles ?? 9);
  // Head first: k grows towards the head when the slice direction has a positive z (LPS: +z is superior).
  const slices = geometry.directions[2][2] > 0 ? chosen.toReversed() : chosen;
  const perRow = Math.max(1, Math.min(options.tilesPerRow ?? 3, slices.length));
  const tileRows = Math.ceil(slices.length / perRow);
  const caption = options.caption ?? [];
  const headerHeight = GAP + LINE * (1 + caption.length);
  const width = Math.max(
    perRow * (tileSize + GAP) + GAP,
    2 * GAP + legendWidth(),
    ...[PREVIEW_TITLE, ...caption].map((line) => 2 * GAP + textWidth(line, SCALE)),
  );
  const height = headerHeight + tileRows * (tileSize + GAP) + GAP + LINE + GAP;
  const image = createRgbImage(width, height, PREVIEW_COLOURS.background);

  drawText(image, PREVIEW_TITLE, GAP, GAP, PREVIEW_COLOURS.text, SCALE);
  caption.forEach((line, n) => drawText(image, line, GAP, GAP + LINE * (n + 1), PREVIEW_COLOURS.text, SCALE));
  const map = tileMapping(geometry, tileSize);
  const tiles = slices.map((slice, n): TilePlacement => {
    const x = GAP + (n % perRow) * (tileSize + GAP);
    const y = headerHeight + Math.floor(n / perRow) * (tileSize + GAP);
    fillRect(image, x, y, tileSize, tileSize, [0, 0, 0]);
    drawTile(image, x + map.offsetX, y + map.offsetY, map, volume, masks, slice.k, options.window ?? LUNG_WINDOW);
    const z = geometry.origin[2] + slice.k * geometry.spacing[2] * geometry.directions[2][2];
    drawText(image, `${slice.k + 1}/${geometry.slices} Z ${z.toFixed(1)}`, x + 4, y + 4, PREVIEW_COLOURS.text, 1);
    return { slice, x: x + map.offsetX, y: y + map.offsetY, width: map.drawnWidth, height: map.drawnHeight };
  });
  drawLegend(image, GAP, height - GAP - LINE + 3);
  return { image, slices, tiles };
}

/** The montage as PNG bytes. */
export function renderPreviewPng(volume: PreviewVolume, masks: PreviewMasks, options: PreviewOptions = {}) {
  const { image, slices, tiles } = renderMontage(volume, masks, options);
  return { png: encodePng(image), width: image.width, height: image.height, slices, tiles };
}

/** Where tile pixel (u, v) samples the slice: a box of source voxels, so downscaling averages. */
interface TileMapping {
  drawnWidth: number;
  drawnHeight: number;
  offsetX: number;
  offsetY: number;
  flipI: boolean;
  flipJ: boolean;
}

function tileMapping(geometry: PreviewVolume['geometry'], tileSize: number): TileMapping {
  const widthMm = geometry.columns * geometry.spacing[0];
  const heightMm = geometry.rows * geometry.spacing[1];
  const pxPerMm = tileSize / Math.max(widthMm, heightMm);
  const drawnWidth = Math.max(1, Math.round(widthMm * pxPerMm));
  const drawnHeight = Math.max(1, Math.round(heightMm * pxPerMm));
  return {
    drawnWidth,
    drawnHeight,
    offsetX: Math.floor((tileSize - drawnWidth) / 2),
    offsetY: Math.floor((tileSize - drawnHeight) / 2),
    // Radiological view: i towards the patient's left (+x), j towards posterior (+y).
    flipI: geometry.directions[0][0] < 0,
    flipJ: geometry.directions[1][1] < 0,
  };
}

function drawTile(
  image: RgbImage,
  x: number,
  y: number,
  map: TileMapping,
  volume: PreviewVolume,
  masks: PreviewMasks,
  k: number,
  window: { center: number; width: number },
): void {
  const { columns, rows } = volume.geometry;
  const { drawnWidth: w, drawnHeight: h } = map;
  const low = window.center - window.width / 2;
  const sliceBase = k * rows * columns;
  // Per tile pixel: 0 outside, 1 right lung, 2 left lung; and whether it is lesion.
  const lung = new Uint8Array(w * h);
  const lesion = new Uint8Array(w * h);
  const grey = new Uint8Array(w * h);
  for (let v = 0; v < h; v++) {
    const jv = map.flipJ ? h - 1 - v : v;
    const j0 = Math.floor((jv * rows) / h);
    const j1 = Math.max(j0 + 1, Math.floor(((jv + 1) * rows) / h));
    const jc = Math.min(rows - 1, Math.floor(((jv + 0.5) * rows) / h));
    for (let u = 0; u < w; u++) {
      const iu = map.flipI ? w - 1 - u : u;
      const i0 = Math.floor((iu * columns) / w);
      const i1 = Math.max(i0 + 1, Math.floor(((iu + 1) * columns) / w));
      let sum = 0;
      for (let j = j0; j < j1; j++) {
        for (let i = i0; i < i1; i++) sum += volume.hu[sliceBase + j * columns + i];
      }
      const mean = sum / ((j1 - j0) * (i1 - i0));
      const t = v * w + u;
      grey[t] = Math.round(255 * Math.min(1, Math.max(0, (mean - low) / window.width)));
      const centre = sliceBase + jc * columns + Math.min(columns - 1, Math.floor(((iu + 0.5) * columns) / w));
      lung[t] = masks.rightLung[centre] ? 1 : masks.leftLung[centre] ? 2 : 0;
      lesion[t] = masks.lesion[centre] ? 1 : 0;
    }
  }
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      const t = v * w + u;
      let colour: Rgb = [grey[t], grey[t], grey[t]];
      if (lesion[t]) colour = blend(colour, PREVIEW_COLOURS.lesion, LESION_OPACITY);
      if (lung[t] !== 0 && isEdge(lung, w, h, u, v)) {
        colour = lung[t] === 1 ? PREVIEW_COLOURS.rightLung : PREVIEW_COLOURS.leftLung;
      }
      image.pixels.set(colour, ((y + v) * image.width + x + u) * 3);
    }
  }
}

/** A lung pixel with a 4-neighbour of another label (or the tile's border) is on the outline. */
function isEdge(labels: Uint8Array, w: number, h: number, u: number, v: number): boolean {
  const label = labels[v * w + u];
  if (u === 0 || v === 0 || u === w - 1 || v === h - 1) return true;
  return (
    labels[v * w + u - 1] !== label ||
    labels[v * w + u + 1] !== label ||
    labels[(v - 1) * w + u] !== label ||
    labels[(v + 1) * w + u] !== label
  );
}

const blend = (under: Rgb, over: Rgb, alpha: number): Rgb =>
  under.map((c, n) => Math.round(c * (1 - alpha) + over[n] * alpha)) as Rgb;

const LEGEND: [string, Rgb][] = [
  ['RIGHT LUNG', PREVIEW_COLOURS.rightLung],
  ['LEFT LUNG', PREVIEW_COLOURS.leftLung],
  ['LESION', PREVIEW_COLOURS.lesion],
];
const LEGEND_BOX = GLYPH_HEIGHT * SCALE;

const legendWidth = () =>
  LEGEND.reduce((sum, [label]) => sum + LEGEND_BOX + 6 + textWidth(label, SCALE) + 18, 0) +
  textWidth(NOT_FOR_CLINICAL_USE, SCALE);

function drawLegend(image: RgbImage, x: number, y: number): void {
  const box = LEGEND_BOX;
  let cursor = x;
  for (const [label, colour] of LEGEND) {
    fillRect(image, cursor, y, box, box, colour);
    cursor += box + 6;
    drawText(image, label, cursor, y, PREVIEW_COLOURS.text, SCALE);
    cursor += textWidth(label, SCALE) + 18;
  }
  drawText(image, NOT_FOR_CLINICAL_USE, cursor, y, PREVIEW_COLOURS.warning, SCALE);
}
