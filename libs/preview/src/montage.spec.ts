import type { CtVolume } from '@app/dicom';
import { describe, expect, it } from 'vitest';
import { chooseKeySlices, type PreviewMasks } from './key-slices.js';
import { LESION_OPACITY, PREVIEW_COLOURS, renderPreviewPng, type PreviewVolume } from './montage.js';
import { pixelAt, readPng } from './testing/png-reader.js';

const [C, R, S] = [40, 40, 30];
const index = (i: number, j: number, k: number) => k * R * C + j * C + i;

/** Air with two box lungs (right at low i, left at high i) over slices 5–24 and one lesion block. */
function phantom(lesionSlices: number[] = [12, 13]): { volume: PreviewVolume; masks: PreviewMasks } {
  const hu = new Int16Array(C * R * S).fill(40);
  const masks = {
    rightLung: new Uint8Array(C * R * S),
    leftLung: new Uint8Array(C * R * S),
    lesion: new Uint8Array(C * R * S),
  };
  for (let k = 5; k < 25; k++) {
    for (let j = 10; j < 30; j++) {
      for (let i = 4; i < 36; i++) {
        if (i >= 18 && i < 22) continue;
        hu[index(i, j, k)] = -850;
        (i < 18 ? masks.rightLung : masks.leftLung)[index(i, j, k)] = 1;
      }
    }
  }
  for (const k of lesionSlices) {
    for (let j = 15; j < 20; j++) {
      for (let i = 8; i < 13; i++) {
        masks.lesion[index(i, j, k)] = 1;
        hu[index(i, j, k)] = -100;
      }
    }
  }
  const geometry = {
    columns: C,
    rows: R,
    slices: S,
    spacing: [1, 1, 2],
    origin: [0, 0, -100],
    directions: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  } as unknown as CtVolume['geometry'];
  return { volume: { geometry, hu }, masks };
}

const grey = (hu: number) => Math.round((255 * (hu - (-600 - 750))) / 1500);
const blendLesion = (g: number) =>
  PREVIEW_COLOURS.lesion.map((c) => Math.round(g * (1 - LESION_OPACITY) + c * LESION_OPACITY));

describe('chooseKeySlices', () => {
  it('spreads over the lungs only and includes the lesion slices', () => {
    const { volume, masks } = phantom();
    const picked = chooseKeySlices(volume.geometry, masks, 6);
    expect(picked).toHaveLength(6);
    expect(picked.every((s) => s.k >= 5 && s.k < 25)).toBe(true);
    expect(picked.some((s) => s.lesionVoxels === 25)).toBe(true);
    const ks = picked.map((s) => s.k);
    expect(ks).toEqual(ks.toSorted((a, b) => a - b));
  });

  it('shows each of several lesions far apart', () => {
    const { volume, masks } = phantom([6, 23]);
    const ks = chooseKeySlices(volume.geometry, masks, 4).map((s) => s.k);
    expect(ks).toContain(6);
    expect(ks).toContain(23);
  });

  it('falls back to the whole volume when no lung was found, and never repeats a slice', () => {
    const { volume } = phantom([]);
    const empty = {
      rightLung: new Uint8Array(C * R * S),
      leftLung: new Uint8Array(C * R * S),
      lesion: new Uint8Array(C * R * S),
    };
    const ks = chooseKeySlices(volume.geometry, empty, 9).map((s) => s.k);
    expect(ks).toHaveLength(9);
    expect(new Set(ks).size).toBe(9);
    expect(ks[0]).toBeLessThan(4);
    expect(ks.at(-1)).toBeGreaterThan(25);
  });

  it('refuses masks of another size', () => {
    const { volume, masks } = phantom();
    expect(() => chooseKeySlices(volume.geometry, { ...masks, lesion: new Uint8Array(5) }, 6)).toThrow(/lesion/);
  });
});

describe('renderPreviewPng', () => {
  it('draws the CT in the lung window, the lung outlines and the lesion fill at the masks’ pixels', () => {
    const { volume, masks } = phantom();
    const preview = renderPreviewPng(volume, masks, { tiles: 6, tileSize: 40 });
    const png = readPng(preview.png);
    expect([png.width, png.height]).toEqual([preview.width, preview.height]);
    const lesionTile = preview.tiles.find((t) => t.slice.lesionVoxels > 0)!;
    expect(lesionTile).toBeDefined();
    // 40 mm field in a 40 px tile: voxel (i, j) is pixel (x + i, y + j).
    const at = (i: number, j: number) => pixelAt(png, lesionTile.x + i, lesionTile.y + j);
    expect(at(10, 17)).toEqual(blendLesion(grey(-100))); // inside the lesion
    expect(at(6, 22)).toEqual([grey(-850), grey(-850), grey(-850)]); // inside the right lung, no lesion
    expect(at(4, 22)).toEqual(PREVIEW_COLOURS.rightLung); // right lung's outer edge
    expect(at(35, 22)).toEqual(PREVIEW_COLOURS.leftLung); // left lung's outer edge
    expect(at(17, 22)).toEqual(PREVIEW_COLOURS.rightLung); // right lung's inner edge
    expect(at(1, 35)).toEqual([grey(40), grey(40), grey(40)]); // soft tissue outside the lungs
  });

  it('orders the tiles head first and mirrors a volume stored feet-first', () => {
    const { volume, masks } = phantom();
    const preview = renderPreviewPng(volume, masks, { tiles: 6, tileSize: 40 });
    const ks = preview.tiles.map((t) => t.slice.k);
    expect(ks).toEqual(ks.toSorted((a, b) => b - a)); // +z is the head: highest k first

    const flipped = {
      ...volume,
      geometry: {
        ...volume.geometry,
        directions: [
          [-1, 0, 0],
          [0, 1, 0],
          [0, 0, -1],
        ],
      } as unknown as CtVolume['geometry'],
    };
    const mirrored = renderPreviewPng(flipped, masks, { tiles: 6, tileSize: 40 });
    const png = readPng(mirrored.png);
    const tile = mirrored.tiles.find((t) => t.slice.lesionVoxels > 0)!;
    // i runs towards the patient's right here, so voxel i lands at pixel 39 - i.
    expect(pixelAt(png, tile.x + 39 - 10, tile.y + 17)).toEqual(blendLesion(grey(-100)));
    expect(mirrored.tiles.map((t) => t.slice.k)).toEqual(ks.toReversed());
  });

  it('prints the title, the caption and the warning in the image', () => {
    const { volume, masks } = phantom();
    const plain = readPng(renderPreviewPng(volume, masks, { tileSize: 40 }).png);
    const captioned = readPng(renderPreviewPng(volume, masks, { tileSize: 40, caption: ['SEVERITY 12.0%'] }).png);
    expect(captioned.height).toBeGreaterThan(plain.height);
    const warningPixels = (png: typeof plain) => {
      let n = 0;
      for (let p = 0; p < png.pixels.length; p += 3) {
        if (png.pixels[p] === 255 && png.pixels[p + 1] === 120 && png.pixels[p + 2] === 60) n++;
      }
      return n;
    };
    // "NOT FOR CLINICAL USE" at scale 2: 4 px per lit font dot.
    expect(warningPixels(plain)).toBeGreaterThan(4 * 100);
  });

  it('downsamples a large slice into the tile, keeping its aspect ratio', () => {
    const { volume, masks } = phantom();
    const wide = { ...volume, geometry: { ...volume.geometry, spacing: [2, 1, 2] } as unknown as CtVolume['geometry'] };
    const preview = renderPreviewPng(wide, masks, { tileSize: 40 });
    expect(preview.tiles[0].width).toBe(40);
    expect(preview.tiles[0].height).toBe(20);
  });
});
