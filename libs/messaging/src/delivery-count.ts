/**
 * How often a message was delivered without its handling ending, kept durably in the
 * consumer group's committed-offset metadata (Kafka stores a string beside each committed
 * offset). Before a message at offset X is handled, X itself is committed (the position
 * does not move) with `{"offset":"X","deliveries":n}`; a process that dies mid-study leaves
 * that record, and whichever member gets the partition next reads it and counts on. An
 * outcome this process saw (done, interrupted, retried) never counts as a death: done moves
 * the offset past X, the others put the previous count back.
 */
export interface DeliveryRecord {
  offset: string;
  deliveries: number;
}

/** The deliveries recorded for `offset` in committed metadata; 0 for another offset or none. */
export function recordedDeliveries(metadata: string | null | undefined, offset: string): number {
  if (!metadata) return 0;
  try {
    const record = JSON.parse(metadata) as Partial<DeliveryRecord>;
    return record.offset === offset && Number.isInteger(record.deliveries) && record.deliveries! > 0
      ? record.deliveries!
      : 0;
  } catch {
    return 0; // metadata written by another tool: not ours to read
  }
}

export function deliveryMetadata(offset: string, deliveries: number): string {
  return JSON.stringify({ offset, deliveries } satisfies DeliveryRecord);
}
