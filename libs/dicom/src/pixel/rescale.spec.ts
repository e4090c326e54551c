import { describe, expect, it } from 'vitest';
import { rescaleFrame } from './rescale.js';

describe('rescaleFrame', () => {
  it('applies an integral rescale into Int16 and finds the extremes', () => {
    const frame = rescaleFrame(Uint16Array.from([0, 1024, 4095, 7]), { slope: 1, intercept: -1024, output: 'int16' });
    expect(frame.values).toEqual(Int16Array.from([-1024, 0, 3071, -1017]));
    expect([frame.min, frame.max]).toEqual([-1024, 3071]);
  });

  it('clamps values beyond Int16 but reports their true extremes', () => {
    const frame = rescaleFrame(Int16Array.from([-32768, 0, 32767]), { slope: 2, intercept: 10, output: 'int16' });
    expect(frame.values).toEqual(Int16Array.from([-32768, 10, 32767]));
    expect([frame.min, frame.max]).toEqual([-65526, 65544]);
  });

  it('keeps a fractional rescale in Float32, extremes as stored', () => {
    const frame = rescaleFrame(Uint16Array.from([0, 3, 1]), { slope: 0.1, intercept: -0.5, output: 'float32' });
    expect(frame.values).toBeInstanceOf(Float32Array);
    expect(frame.values[1]).toBeCloseTo(-0.2, 6);
    expect([frame.min, frame.max]).toEqual([Math.fround(-0.5), Math.fround(3 * 0.1 - 0.5)]);
  });
});
