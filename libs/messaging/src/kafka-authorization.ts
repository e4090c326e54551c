/**
 * What the broker's ACLs let this client do with the topics and the consumer group it is
 * configured to use, asked without side effects: two requests kafkajs does not offer, sent on
 * its connection (TLS and SASL as the clients have them).
 *
 * - Metadata v8 (KIP-430) with `include_topic_authorized_operations` and
 *   `allow_auto_topic_creation=false`: per topic an error (TOPIC_AUTHORIZATION_FAILED without
 *   Describe, UNKNOWN_TOPIC_OR_PARTITION when it does not exist) or the operations the ACLs allow
 *   this principal (Read, Write, …), nothing created.
 * - FindCoordinator (kafkajs') and DescribeGroups v3 with `include_authorized_operations`:
 *   GROUP_AUTHORIZATION_FAILED without Describe on the group, else the group's allowed operations
 *   (Read is what joining and committing need). Neither joins nor creates the group.
 *
 * Produce, JoinGroup or OffsetCommit would prove Write and Read by doing them: a record on an
 * answer topic, a rebalance of the running group. The allowed operations say the same without.
 */

/** Kafka's AclOperation codes, the bit positions of an authorized-operations field. */
export const ACL_OPERATIONS = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
} as const;
export type AclOperationName = keyof typeof ACL_OPERATIONS;

/** The broker did not compute the field (not asked, or an older broker): nothing to judge. */
export const OPERATIONS_UNKNOWN = -2147483648;

/** Error codes the probe tells apart (Kafka's protocol); others are named by number. */
export const KAFKA_ERROR_CODES: Record<number, string> = {
  0: 'NONE',
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  5: 'LEADER_NOT_AVAILABLE',
  14: 'COORDINATOR_LOAD_IN_PROGRESS',
  15: 'COORDINATOR_NOT_AVAILABLE',
  16: 'NOT_COORDINATOR',
  17: 'INVALID_TOPIC_EXCEPTION',
  24: 'INVALID_GROUP_ID',
  29: 'TOPIC_AUTHORIZATION_FAILED',
  30: 'GROUP_AUTHORIZATION_FAILED',
  31: 'CLUSTER_AUTHORIZATION_FAILED',
  69: 'GROUP_ID_NOT_FOUND',
};
export const errorName = (code: number) => KAFKA_ERROR_CODES[code] ?? `error ${code}`;

/** A topic or group as configured: the setting that names it, and the name. */
export interface KafkaResourceSetting {
  setting: string;
  name: string;
}

/** What a service uses on the broker, by setting. */
export interface KafkaAccessNeeds {
  /** Topics it consumes: Describe and Read. */
  read: KafkaResourceSetting[];
  /** Topics it produces to: Describe and Write. */
  write: KafkaResourceSetting[];
  /** Its consumer group: Describe and Read. */
  group?: KafkaResourceSetting;
}

/** One thing the ACLs refuse: the setting, what is missing, and what the broker said. */
export interface KafkaDenial {
  kind: 'topic' | 'group';
  setting: string;
  name: string;
  /** The operations the service needs there, e.g. ['DESCRIBE', 'READ']. */
  needs: AclOperationName[];
  /** The broker's error (TOPIC_AUTHORIZATION_FAILED), or the operations it allows when one is missing. */
  reason: string;
  /** True when even Describe is refused (an error code), false when only an operation is missing. */
  describe: boolean;
}

export interface TopicMetadata {
  name: string;
  errorCode: number;
  authorizedOperations: number;
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  authorizedOperations: number;
}

/** The operations a field allows, by name (undefined when the broker did not say). */
export function allowedOperations(field: number): AclOperationName[] | undefined {
  if (field === OPERATIONS_UNKNOWN) return undefined;
  return (Object.keys(ACL_OPERATIONS) as AclOperationName[]).filter((op) => (field & (1 << ACL_OPERATIONS[op])) !== 0);
}

function missingOperation(field: number, operation: AclOperationName): string | undefined {
  const allowed = allowedOperations(field);
  if (!allowed || allowed.includes(operation)) return undefined;
  return `allowed: ${allowed.length ? allowed.join(', ') : 'nothing'}`;
}

/**
 * The topics' denials from a Metadata v8 answer. A topic the answer lacks, one that does not
 * exist (UNKNOWN_TOPIC_OR_PARTITION: Describe was allowed) or any other error is not a denial:
 * the clients deal with it as before.
 */
export function topicDenials(needs: KafkaAccessNeeds, topics: TopicMetadata[]): KafkaDenial[] {
  const byName = new Map(topics.map((t) => [t.name, t]));
  const denials: KafkaDenial[] = [];
  const check = (resource: KafkaResourceSetting, operation: 'READ' | 'WRITE') => {
    const topic = byName.get(resource.name);
    if (!topic) return;
    const needed: AclOperationName[] = ['DESCRIBE', operation];
    if (topic.errorCode === 29) {
      denials.push({ kind: 'topic', ...resource, needs: needed, reason: errorName(29), describe: true });
      return;
    }
    if (topic.errorCode !== 0) return;
    const missing = missingOperation(topic.authorizedOperations, operation);
    if (missing) denials.push({ kind: 'topic', ...resource, needs: [operation], reason: missing, describe: false });
  };
  for (const resource of needs.read) check(resource, 'READ');
  for (const resource of needs.write) check(resource, 'WRITE');
  return denials;
}

/** The group's denial from DescribeGroups v3 (or a FindCoordinator error code), if any. */
export function groupDenial(group: KafkaResourceSetting, description: GroupDescription): KafkaDenial | undefined {
  if (description.errorCode === 30) {
    return { kind: 'group', ...group, needs: ['DESCRIBE', 'READ'], reason: errorName(30), describe: true };
  }
  if (description.errorCode !== 0) return undefined;
  const missing = missingOperation(description.authorizedOperations, 'READ');
  return missing ? { kind: 'group', ...group, needs: ['READ'], reason: missing, describe: false } : undefined;
}

// --- The two requests, as kafkajs' connection sends them: { request, response }. ---

/** The part of an encoder kafkajs' request framing reads (protocol/request.js: writeEncoder). */
interface EncodedPayload {
  buf: Buffer;
  buffer: Buffer;
}

export interface RawKafkaRequest<T> {
  request: { apiKey: number; apiVersion: number; apiName: string; encode: () => Promise<EncodedPayload> };
  response: { decode: (payload: Buffer) => Promise<T>; parse: (decoded: T) => Promise<T> };
}

class Writer {
  private readonly parts: Buffer[] = [];
  int8(value: number) {
    const b = Buffer.alloc(1);
    b.writeInt8(value);
    this.parts.push(b);
    return this;
  }
  int32(value: number) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value);
    this.parts.push(b);
    return this;
  }
  string(value: string) {
    const bytes = Buffer.from(value, 'utf8');
    const b = Buffer.alloc(2);
    b.writeInt16BE(bytes.length);
    this.parts.push(b, bytes);
    return this;
  }
  strings(values: string[]) {
    this.int32(values.length);
    for (const value of values) this.string(value);
    return this;
  }
  payload(): EncodedPayload {
    const buf = Buffer.concat(this.parts);
    return { buf, buffer: buf };
  }
}

/** A reader of Kafka's fixed-width (non-flexible) encoding; throws on a short buffer. */
class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}
  int8() {
    return this.buf.readInt8(this.advance(1));
  }
  int16() {
    return this.buf.readInt16BE(this.advance(2));
  }
  int32() {
    return this.buf.readInt32BE(this.advance(4));
  }
  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const start = this.advance(length);
    return this.buf.toString('utf8', start, start + length);
  }
  string(): string {
    return this.nullableString() ?? '';
  }
  bytes() {
    const length = this.int32();
    if (length > 0) this.advance(length);
  }
  array<T>(item: () => T): T[] {
    const length = this.int32();
    const items: T[] = [];
    for (let i = 0; i < length; i++) items.push(item());
    return items;
  }
  private advance(n: number): number {
    const at = this.offset;
    if (at + n > this.buf.length) throw new RangeError(`truncated Kafka response (${at + n} > ${this.buf.length})`);
    this.offset += n;
    return at;
  }
}

/** Metadata (api key 3) v8: the named topics, never created, with their authorized operations. */
export function metadataRequest(topics: string[]): RawKafkaRequest<TopicMetadata[]> {
  return {
    request: {
      apiKey: 3,
      apiVersion: 8,
      apiName: 'Metadata',
      encode: async () =>
        new Writer()
          .strings(topics)
          .int8(0) // allow_auto_topic_creation
          .int8(0) // include_cluster_authorized_operations
          .int8(1) // include_topic_authorized_operations
          .payload(),
    },
    response: { decode: async (payload) => decodeMetadataV8(payload), parse: async (decoded) => decoded },
  };
}

/**
 * Metadata Response v8: throttle_time_ms [brokers] cluster_id controller_id [topics]
 * cluster_authorized_operations; a topic: error_code name is_internal [partitions]
 * topic_authorized_operations; a partition: error_code index leader_id leader_epoch
 * [replica_nodes] [isr_nodes] [offline_replicas].
 */
export function decodeMetadataV8(payload: Buffer): TopicMetadata[] {
  const r = new Reader(payload);
  r.int32(); // throttle_time_ms
  r.array(() => {
    r.int32(); // node_id
    r.string(); // host
    r.int32(); // port
    r.nullableString(); // rack
  });
  r.nullableString(); // cluster_id
  r.int32(); // controller_id
  return r.array(() => {
    const errorCode = r.int16();
    const name = r.string();
    r.int8(); // is_internal
    r.array(() => {
      r.int16(); // error_code
      r.int32(); // partition_index
      r.int32(); // leader_id
      r.int32(); // leader_epoch
      r.array(() => r.int32()); // replica_nodes
      r.array(() => r.int32()); // isr_nodes
      r.array(() => r.int32()); // offline_replicas
    });
    return { name, errorCode, authorizedOperations: r.int32() };
  });
}

/** DescribeGroups (api key 15) v3: the groups' state and the operations allowed on them. */
export function describeGroupsRequest(groups: string[]): RawKafkaRequest<GroupDescription[]> {
  return {
    request: {
      apiKey: 15,
      apiVersion: 3,
      apiName: 'DescribeGroups',
      encode: async () =>
        new Writer()
          .strings(groups)
          .int8(1) // include_authorized_operations
          .payload(),
    },
    response: { decode: async (payload) => decodeDescribeGroupsV3(payload), parse: async (decoded) => decoded },
  };
}

/**
 * DescribeGroups Response v3: throttle_time_ms [groups]; a group: error_code group_id
 * group_state protocol_type protocol_data [members] authorized_operations; a member:
 * member_id client_id client_host member_metadata member_assignment.
 */
export function decodeDescribeGroupsV3(payload: Buffer): GroupDescription[] {
  const r = new Reader(payload);
  r.int32(); // throttle_time_ms
  return r.array(() => {
    const errorCode = r.int16();
    const groupId = r.string();
    r.string(); // group_state
    r.string(); // protocol_type
    r.string(); // protocol_data
    r.array(() => {
      r.string(); // member_id
      r.string(); // client_id
      r.string(); // client_host
      r.bytes(); // member_metadata
      r.bytes(); // member_assignment
    });
    return { groupId, errorCode, authorizedOperations: r.int32() };
  });
}
