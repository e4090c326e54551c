import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnalyzeUsageError, parseAnalyzeArguments } from './analyze-command.js';

describe('parseAnalyzeArguments', () => {
  it('defaults to the embedded phantom into out/analyze', () => {
    expect(parseAnalyzeArguments([])).toEqual({ out: join('out', 'analyze') });
  });

  it('takes a study, an output folder, a model and threads', () => {
    expect(parseAnalyzeArguments(['/data/P001', '--out', 'o', '--model', 'm.json', '--threads', '4'])).toEqual({
      target: '/data/P001',
      out: 'o',
      modelManifest: 'm.json',
      threads: 4,
    });
  });

  it.each([[['--threads', '0']], [['--threads', 'x']], [['--bogus']], [['a', 'b']], [['--out']]])(
    'refuses %j as wrong usage',
    (args) => {
      expect(() => parseAnalyzeArguments(args)).toThrow(AnalyzeUsageError);
    },
  );
});
