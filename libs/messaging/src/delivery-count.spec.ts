import { describe, expect, it } from 'vitest';
import { deliveryMetadata, recordedDeliveries } from './delivery-count.js';

describe('delivery count in committed-offset metadata', () => {
  it('reads back what was written for the same offset', () => {
    expect(recordedDeliveries(deliveryMetadata('41', 2), '41')).toBe(2);
  });

  it('counts nothing for another offset, no metadata, or metadata of another tool', () => {
    expect(recordedDeliveries(deliveryMetadata('40', 2), '41')).toBe(0);
    expect(recordedDeliveries(null, '41')).toBe(0);
    expect(recordedDeliveries('', '41')).toBe(0);
    expect(recordedDeliveries('checkpoint-7', '41')).toBe(0);
    expect(recordedDeliveries('{"offset":"41","deliveries":-1}', '41')).toBe(0);
  });
});
