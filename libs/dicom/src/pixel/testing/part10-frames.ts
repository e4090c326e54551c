import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import type { PixelDescription } from '../pixel-description.js';

/**
 * Test-side reading of Part 10 files with dicom-parser, a reader this project
 * did not write, and running dcmtk's command-line encoders. Used only by tests.
 */

export interface ParsedFrame {
  transferSyntaxUid: string;
  /** Frame 1: native bytes, or the concatenated fragments of an encapsulated frame. */
  frame: Uint8Array;
  pixel: PixelDescription;
  rescaleIntercept: number;
  rescaleSlope: number;
}

/** Reads the first frame and the Image Pixel attributes of a single-frame Part 10 file. */
export function readFirstFrame(bytes: Uint8Array): ParsedFrame {
  const dataSet = dicomParser.parseDicom(bytes);
  const transferSyntaxUid = dataSet.string('x00020010') ?? '';
  const element = dataSet.elements['x7fe00010'];
  if (!element) throw new Error('no PixelData');
  const frame = element.encapsulatedPixelData
    ? dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, element.fragments!.length)
    : new Uint8Array(dataSet.byteArray.buffer, dataSet.byteArray.byteOffset + element.dataOffset, element.length);
  const us = (tag: string): number => {
    const value = dataSet.uint16(tag);
    if (value === undefined) throw new Error(`missing ${tag}`);
    return value;
  };
  return {
    transferSyntaxUid,
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
      planarConfiguration: dataSet.uint16('x00280006'),
    },
    rescaleIntercept: dataSet.floatString('x00281052') ?? 0,
    rescaleSlope: dataSet.floatString('x00281053') ?? 1,
  };
}

/** Runs `tool [args] in.dcm out.dcm` (a dcmtk converter) on `input`; returns the output file. */
export function convert(tool: string, args: string[], input: Uint8Array): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'pixel-'));
  try {
    const source = join(dir, 'in.dcm');
    const target = join(dir, 'out.dcm');
    writeFileSync(source, input);
    try {
      execFileSync(tool, [...args, source, target], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new Error(
        missing
          ? `${tool} not found: these tests need dcmtk (Debian package dcmtk, installed by scripts/provision.sh)`
          : `${tool} ${args.join(' ')} failed: ${String((error as { stderr?: Buffer }).stderr ?? error)}`,
        { cause: error },
      );
    }
    return readFileSync(target);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
