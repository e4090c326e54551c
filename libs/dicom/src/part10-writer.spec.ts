import { data as dcmjsData } from 'dcmjs';
import { describe, expect, it } from 'vitest';
import { encodeDataset, formatDecimalString, writePart10 } from './part10-writer.js';
import { syntheticCtSeries } from './phantom/synthetic-ct.js';

/** Reads a file back with dcmjs, a parser this project did not write. */
function readBack(bytes: Buffer) {
  const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const file = dcmjsData.DicomMessage.readFile(arrayBuffer);
  return {
    meta: dcmjsData.DicomMetaDictionary.naturalizeDataset(file.meta),
    dataset: dcmjsData.DicomMetaDictionary.naturalizeDataset(file.dict),
  };
}

describe('formatDecimalString', () => {
  it.each([
    [2, '2'],
    [-0.5, '-0.5'],
    [0.748046875, '0.748046875'],
    [-346.10000000000002, '-346.1'],
    [1 / 3, '0.33333333333333'],
    [-123456.78901234567, '-123456.78901235'],
    [1e-7, '1e-7'],
  ])('%s -> %s', (value, text) => {
    expect(formatDecimalString(value)).toBe(text);
    expect(text.length).toBeLessThanOrEqual(16);
  });

  it('refuses NaN and infinities', () => {
    expect(() => formatDecimalString(Number.NaN)).toThrow(/not finite/);
    expect(() => formatDecimalString(Infinity)).toThrow(/not finite/);
  });
});

describe('encodeDataset', () => {
  it('pads UIDs with NUL and other text with a space to an even length', () => {
    const ui = encodeDataset({ SOPInstanceUID: '1.2.3' });
    expect(ui.readUInt16LE(6)).toBe(6);
    expect(ui.subarray(8)).toEqual(Buffer.from('1.2.3\0', 'latin1'));
    const cs = encodeDataset({ Modality: 'SEG' });
    expect(cs.subarray(8)).toEqual(Buffer.from('SEG ', 'latin1'));
  });

  it('writes elements in ascending tag order whatever the key order', () => {
    const bytes = encodeDataset({ PatientID: 'x', Modality: 'CT' });
    expect(bytes.readUInt16LE(0)).toBe(0x0008);
    expect(bytes.readUInt16LE(2)).toBe(0x0060);
  });

  it('refuses unknown keywords and oversize short values', () => {
    expect(() => encodeDataset({ NotAKeyword: 'x' })).toThrow(/not in the project's dictionary/);
    expect(() => encodeDataset({ StudyDescription: 'x'.repeat(70_000) })).toThrow(/too long/);
  });
});

describe('writePart10', () => {
  it('writes a file that an independent parser reads back, sequences included', () => {
    const bytes = writePart10({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      SOPInstanceUID: '1.2.3.4',
      PatientName: '',
      Rows: 2,
      PixelSpacing: [0.5, 0.25],
      ReferencedSeriesSequence: [
        { SeriesInstanceUID: '1.2.3', ReferencedSOPInstanceUID: '1.2.3.5' },
        { SeriesInstanceUID: '1.2.4' },
      ],
    });
    const { meta, dataset } = readBack(bytes);
    expect(meta['TransferSyntaxUID']).toBe('1.2.840.10008.1.2.1');
    expect(meta['MediaStorageSOPInstanceUID']).toBe('1.2.3.4');
    expect(dataset['Rows']).toBe(2);
    expect(dataset['PixelSpacing']).toEqual([0.5, 0.25]);
    const sequence = dataset['ReferencedSeriesSequence'] as Record<string, unknown>[];
    expect(sequence).toHaveLength(2);
    expect(sequence[0]['ReferencedSOPInstanceUID']).toBe('1.2.3.5');
    expect(sequence[1]['SeriesInstanceUID']).toBe('1.2.4');
  });

  it('needs the SOP class and instance for the file meta information', () => {
    expect(() => writePart10({ Modality: 'CT' })).toThrow(/SOPClassUID/);
  });
});

describe('syntheticCtSeries', () => {
  it('lays slices along the normal and stores HU + 1024', () => {
    const series = syntheticCtSeries({ slices: 3, rows: 8, columns: 10, sliceSpacing: 2.5, origin: [0, 0, 10] });
    expect(series.instances.map((i) => i.position[2])).toEqual([10, 7.5, 5]);
    const { dataset } = readBack(series.instances[1].bytes);
    expect(dataset['Rows']).toBe(8);
    expect(dataset['Columns']).toBe(10);
    expect(dataset['ImagePositionPatient']).toEqual([0, 0, 7.5]);
    const stored = new Uint16Array((dataset['PixelData'] as ArrayBuffer[])[0]);
    expect(Array.from(stored, (v) => v - 1024)).toEqual(Array.from(series.instances[1].hu));
    expect(new Set(series.instances[1].hu)).toEqual(new Set([-1000, 40, -850]));
  });

  it('steps feet-first series the other way along the normal of an oblique orientation', () => {
    const series = syntheticCtSeries({
      slices: 2,
      orientation: [0, 1, 0, 0, 0, -1],
      sliceDirection: 1,
      origin: [0, 0, 0],
    });
    // rows × columns = (0,1,0) × (0,0,-1) = (-1,0,0)
    expect(series.instances[1].position).toEqual([-2, 0, 0]);
  });
});
