import { describe, expect, it } from 'vitest';
import { httpRuntimeProblem } from './runtime.js';

describe('httpRuntimeProblem', () => {
  it('refuses undici versions with the socket-end crash', () => {
    for (const version of ['7.29.1', '7.30.3', '8.5.0', undefined, 'garbage']) {
      expect(httpRuntimeProblem(version)).toMatch(/undici issue 5360/);
    }
  });

  it('accepts 8.6.0 and later', () => {
    for (const version of ['8.6.0', '8.12.2', '9.0.0']) expect(httpRuntimeProblem(version)).toBeUndefined();
  });

  it('accepts the runtime the tests run on (.nvmrc)', () => {
    expect(httpRuntimeProblem(process.versions.undici)).toBeUndefined();
  });
});
