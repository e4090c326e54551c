import { crc32, deflateSync } from 'node:zlib';

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

export function createRgbImage(width: number, height: number, fill: [number, number, number] = [0, 0, 0]): RgbImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let p = 0; p < pixels.length; p += 3) pixels.set(fill, p);
  return { width, height, pixels };
}

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  // The CRC covers the chunk type and its data, not the length.
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * A minimal PNG (8-bit truecolour, no interlace): signature, IHDR, one IDAT, IEND.
 * Each row uses the Up filter, which shrinks CT montages well and keeps the encoder trivial.
 */
export function encodePng(image: RgbImage): Buffer {
  const { width, height, pixels } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`PNG dimensions must be positive integers, not ${width}x${height}`);
  }
  if (pixels.length !== width * height * 3) {
    throw new RangeError(`${pixels.length} bytes for a ${width}x${height} RGB image`);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1);
    raw[row] = 2; // Up
    for (let x = 0; x < stride; x++) {
      const above = y === 0 ? 0 : pixels[(y - 1) * stride + x];
      raw[row + 1 + x] = (pixels[y * stride + x] - above) & 0xff;
    }
  }
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
