import { describe, expect, it } from 'vitest';
import { readPart10 } from '../part10-reader.js';
import { syntheticEnhancedCt } from '../phantom/synthetic-enhanced-ct.js';
import { syntheticCtSeries } from '../phantom/synthetic-ct.js';
import { ImplausibleVolumeError, VolumeBuilder } from './ct-volume.js';
import { planVolume } from './plan-volume.js';

const size = { rows: 6, columns: 5, slices: 12 };

describe('VolumeBuilder', () => {
  it('puts each instance, in whatever order it arrives, at its sorted place in HU', async () => {
    const series = syntheticCtSeries({ ...size, sliceDirection: 1 });
    const files = series.instances.map((i) => readPart10(i.bytes));
    const builder = new VolumeBuilder(planVolume(files.map((f) => f.dataset)));
    for (const file of files.toReversed()) await builder.addInstance(file);
    const volume = builder.finish();
    expect(volume.hu).toBeInstanceOf(Int16Array);
    const sliceSize = size.rows * size.columns;
    const byZ = series.instances.toSorted((a, b) => a.position[2] - b.position[2]);
    byZ.forEach((instance, k) => expect(volume.hu.subarray(k * sliceSize, (k + 1) * sliceSize)).toEqual(instance.hu));
    expect(volume.huRange).toEqual({ min: -1000, max: 40 });
    expect(volume.transferSyntaxes).toEqual(['1.2.840.10008.1.2.1']);
  });

  it('fills a multi-frame Enhanced CT frame by frame', async () => {
    const { instance, series } = syntheticEnhancedCt({ ...size, frameOrder: [5, 3, 1, 0, 2, 4, 11, 10, 9, 8, 7, 6] });
    const file = readPart10(instance);
    const builder = new VolumeBuilder(planVolume([file.dataset]));
    await builder.addInstance(file);
    const volume = builder.finish();
    const sliceSize = size.rows * size.columns;
    const byZ = series.instances.toSorted((a, b) => a.position[2] - b.position[2]);
    byZ.forEach((slice, k) => expect(volume.hu.subarray(k * sliceSize, (k + 1) * sliceSize)).toEqual(slice.hu));
  });

  it('keeps fractional rescales in Float32', async () => {
    const series = syntheticCtSeries({ ...size, attributes: { RescaleSlope: 0.5, RescaleIntercept: -600 } });
    const files = series.instances.map((i) => readPart10(i.bytes));
    const builder = new VolumeBuilder(planVolume(files.map((f) => f.dataset)));
    for (const file of files) await builder.addInstance(file);
    const volume = builder.finish();
    expect(volume.hu).toBeInstanceOf(Float32Array);
    // Stored values are HU + 1024, so HU' = (HU + 1024) / 2 - 600.
    expect(volume.huRange).toEqual({ min: -588, max: -68 });
  });

  it('refuses a series with a slice that never arrived', async () => {
    const series = syntheticCtSeries(size);
    const files = series.instances.map((i) => readPart10(i.bytes));
    const builder = new VolumeBuilder(planVolume(files.map((f) => f.dataset)));
    for (const file of files.slice(1)) await builder.addInstance(file);
    expect(() => builder.finish()).toThrow(/1 of 12 slices never arrived/);
  });

  it.each([
    ['a constant (blank or zero-decoded) volume', { RescaleSlope: 0, RescaleIntercept: 0 }, /constant/],
    ['a volume without air', { RescaleIntercept: 0 }, /lacks air/],
    ['implausible HU (wrong signedness)', { RescaleIntercept: -40000 }, /implausible HU/],
  ])('refuses %s', async (_, attributes, message) => {
    const series = syntheticCtSeries({ ...size, attributes });
    const files = series.instances.map((i) => readPart10(i.bytes));
    const builder = new VolumeBuilder(planVolume(files.map((f) => f.dataset)));
    for (const file of files) await builder.addInstance(file);
    let error: unknown;
    try {
      builder.finish();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ImplausibleVolumeError);
    expect((error as Error).message).toMatch(message);
  });
});
