import { describe, expect, it } from 'vitest';
import { createRgbImage, encodePng } from './png-encoder.js';
import { pixelAt, readPng, referenceCrc32 } from './testing/png-reader.js';

describe('encodePng', () => {
  it('writes signature, IHDR, IDAT and IEND with valid CRCs, and the pixels decode back', () => {
    const image = createRgbImage(7, 5, [10, 20, 30]);
    for (let p = 0; p < image.pixels.length; p++) image.pixels[p] = (p * 37) % 256;
    const decoded = readPng(encodePng(image));
    expect(decoded.chunks).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect({ width: decoded.width, height: decoded.height, bitDepth: decoded.bitDepth }).toEqual({
      width: 7,
      height: 5,
      bitDepth: 8,
    });
    expect(decoded.colourType).toBe(2);
    expect(Buffer.from(decoded.pixels).equals(Buffer.from(image.pixels))).toBe(true);
  });

  it('agrees with the known CRC-32 of the IEND chunk', () => {
    // Every PNG ends with the same 12 bytes: length 0, "IEND", CRC AE 42 60 82.
    const png = encodePng(createRgbImage(1, 1));
    expect(png.subarray(-12).toString('hex')).toBe('0000000049454e44ae426082');
    expect(referenceCrc32(Buffer.from('IEND'))).toBe(0xae426082);
  });

  it('keeps a single pixel colour exactly', () => {
    const decoded = readPng(encodePng(createRgbImage(3, 2, [255, 1, 128])));
    expect(pixelAt(decoded, 2, 1)).toEqual([255, 1, 128]);
  });

  it('refuses inconsistent sizes', () => {
    expect(() => encodePng({ width: 2, height: 2, pixels: new Uint8Array(5) })).toThrow(RangeError);
    expect(() => encodePng({ width: 0, height: 2, pixels: new Uint8Array(0) })).toThrow(RangeError);
  });
});
