import { describe, expect, it } from 'vitest';
import { triagePriority } from './triage-priority.js';

describe('triagePriority', () => {
  it('is routine below the suspicion threshold, whatever the severity', () => {
    expect(triagePriority({ covidProbability: 0.49, severityPercent: 80 })).toBe('routine');
  });

  it('is elevated when suspected with limited involvement, urgent from 25 %', () => {
    expect(triagePriority({ covidProbability: 0.5, severityPercent: 24.9 })).toBe('elevated');
    expect(triagePriority({ covidProbability: 0.9, severityPercent: 25 })).toBe('urgent');
  });

  it('follows the given rules', () => {
    const rules = { suspectedProbability: 0.9, urgentSeverityPercent: 50 };
    expect(triagePriority({ covidProbability: 0.8, severityPercent: 60 }, rules)).toBe('routine');
    expect(triagePriority({ covidProbability: 0.95, severityPercent: 40 }, rules)).toBe('elevated');
  });
});
