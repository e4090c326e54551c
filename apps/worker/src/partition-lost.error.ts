/**
 * The Kafka group rebalanced or dropped this member while a study was in flight: its partition
 * may already be another member's, which redoes the study. Thrown just before the write-back so
 * that two members never write the same study at once; the message is left, not parked.
 */
export class PartitionLostError extends Error {
  constructor() {
    super('the partition may have moved to another member during the study; leaving it to the new owner');
    this.name = 'PartitionLostError';
  }
}
