export { drawText, fillRect, GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, textWidth } from './bitmap-font.js';
export { chooseKeySlices, sliceCounts, type KeySlice, type PreviewGrid, type PreviewMasks } from './key-slices.js';
export {
  LESION_OPACITY,
  LUNG_WINDOW,
  NOT_FOR_CLINICAL_USE,
  PREVIEW_COLOURS,
  PREVIEW_TITLE,
  renderMontage,
  renderPreviewPng,
  type PreviewOptions,
  type PreviewVolume,
  type TilePlacement,
} from './montage.js';
export { createRgbImage, encodePng, type RgbImage } from './png-encoder.js';
