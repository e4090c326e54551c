import { describe, expect, it } from 'vitest';
import { workerAccessNeeds } from './kafka-access.js';
import {
  ACL_OPERATIONS,
  allowedOperations,
  decodeDescribeGroupsV3,
  decodeMetadataV8,
  describeGroupsRequest,
  groupDenial,
  metadataRequest,
  OPERATIONS_UNKNOWN,
  topicDenials,
  type AclOperationName,
} from './kafka-authorization.js';

/** Kafka's fixed-width encoding, for answers as a broker would send them. */
const int8 = (v: number) => Buffer.from([v & 0xff]);
const int16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};
const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const str = (s: string | null) =>
  s === null ? int16(-1) : Buffer.concat([int16(Buffer.byteLength(s)), Buffer.from(s)]);
const array = (items: Buffer[]) => Buffer.concat([int32(items.length), ...items]);
const bytes = (b: Buffer) => Buffer.concat([int32(b.length), b]);
const ops = (...names: AclOperationName[]) => names.reduce((field, name) => field | (1 << ACL_OPERATIONS[name]), 0);

function metadataV8(topics: { name: string; error: number; partitions: number; operations: number }[]): Buffer {
  return Buffer.concat([
    int32(0), // throttle
    array([Buffer.concat([int32(1), str('127.0.0.1'), int32(9094), str(null)])]),
    str('cluster-id'),
    int32(1),
    array(
      topics.map((t) =>
        Buffer.concat([
          int16(t.error),
          str(t.name),
          int8(0),
          array(
            Array.from({ length: t.partitions }, (_, i) =>
              Buffer.concat([int16(0), int32(i), int32(1), int32(0), array([int32(1)]), array([int32(1)]), array([])]),
            ),
          ),
          int32(t.operations),
        ]),
      ),
    ),
    int32(OPERATIONS_UNKNOWN), // cluster operations, not asked
  ]);
}

function describeGroupsV3(groups: { id: string; error: number; members: number; operations: number }[]): Buffer {
  return Buffer.concat([
    int32(0),
    array(
      groups.map((g) =>
        Buffer.concat([
          int16(g.error),
          str(g.id),
          str(g.members ? 'Stable' : 'Empty'),
          str('consumer'),
          str(g.members ? 'RoundRobinAssigner' : ''),
          array(
            Array.from({ length: g.members }, (_, i) =>
              Buffer.concat([
                str(`member-${i}`),
                str('worker'),
                str('/10.0.0.1'),
                bytes(Buffer.from([0, 1, 2])),
                bytes(Buffer.alloc(0)),
              ]),
            ),
          ),
          int32(g.operations),
        ]),
      ),
    ),
  ]);
}

const needs = workerAccessNeeds({
  groupId: 'worker',
  topics: { studyAvailable: 'studies', triageCompleted: 'completed', triageFailed: 'failed', deadLetter: 'dead' },
});

describe('the ACL requests on the wire', () => {
  it('Metadata v8: the topics, no auto-creation, topic operations asked, cluster operations not', async () => {
    const { request } = metadataRequest(['studies', 'answers']);
    expect(request).toMatchObject({ apiKey: 3, apiVersion: 8 });
    const { buffer } = await request.encode();
    expect(buffer).toEqual(Buffer.concat([array([str('studies'), str('answers')]), int8(0), int8(0), int8(1)]));
  });

  it('DescribeGroups v3: the group, authorized operations asked', async () => {
    const { request } = describeGroupsRequest(['worker']);
    expect(request).toMatchObject({ apiKey: 15, apiVersion: 3 });
    expect((await request.encode()).buffer).toEqual(Buffer.concat([array([str('worker')]), int8(1)]));
  });

  it('decodes a Metadata v8 answer: each topic with its error and operations, partitions skipped', () => {
    const decoded = decodeMetadataV8(
      metadataV8([
        { name: 'studies', error: 0, partitions: 3, operations: ops('READ', 'DESCRIBE') },
        { name: 'answers', error: 29, partitions: 0, operations: OPERATIONS_UNKNOWN },
      ]),
    );
    expect(decoded).toEqual([
      { name: 'studies', errorCode: 0, authorizedOperations: ops('READ', 'DESCRIBE') },
      { name: 'answers', errorCode: 29, authorizedOperations: OPERATIONS_UNKNOWN },
    ]);
  });

  it('decodes a DescribeGroups v3 answer, members skipped', () => {
    expect(
      decodeDescribeGroupsV3(
        describeGroupsV3([
          { id: 'worker', error: 0, members: 2, operations: ops('DESCRIBE') },
          { id: 'other', error: 30, members: 0, operations: OPERATIONS_UNKNOWN },
        ]),
      ),
    ).toEqual([
      { groupId: 'worker', errorCode: 0, authorizedOperations: ops('DESCRIBE') },
      { groupId: 'other', errorCode: 30, authorizedOperations: OPERATIONS_UNKNOWN },
    ]);
  });

  it('a truncated answer is an error, not a wrong reading', () => {
    const whole = metadataV8([{ name: 'studies', error: 0, partitions: 1, operations: 0 }]);
    expect(() => decodeMetadataV8(whole.subarray(0, whole.length - 6))).toThrow(/truncated Kafka response/);
  });
});

describe('which answers are denials', () => {
  it('names the operations a field allows; the unknown marker allows no judgement', () => {
    expect(allowedOperations(ops('WRITE', 'DESCRIBE'))).toEqual(['WRITE', 'DESCRIBE']);
    expect(allowedOperations(0)).toEqual([]);
    expect(allowedOperations(OPERATIONS_UNKNOWN)).toBe(undefined);
  });

  it('TOPIC_AUTHORIZATION_FAILED on the consumed topic: Describe and Read are needed', () => {
    expect(topicDenials(needs, [{ name: 'studies', errorCode: 29, authorizedOperations: OPERATIONS_UNKNOWN }])).toEqual(
      [
        {
          kind: 'topic',
          setting: 'KAFKA_TOPIC_STUDY_AVAILABLE',
          name: 'studies',
          needs: ['DESCRIBE', 'READ'],
          reason: 'TOPIC_AUTHORIZATION_FAILED',
          describe: true,
        },
      ],
    );
  });

  it('an answer topic that may be described but not written: Write is missing', () => {
    const all = ops('READ', 'WRITE', 'DESCRIBE');
    const denials = topicDenials(needs, [
      { name: 'studies', errorCode: 0, authorizedOperations: ops('READ', 'DESCRIBE') },
      { name: 'completed', errorCode: 0, authorizedOperations: ops('DESCRIBE', 'READ') },
      { name: 'failed', errorCode: 0, authorizedOperations: all },
      { name: 'dead', errorCode: 0, authorizedOperations: all },
    ]);
    expect(denials).toEqual([
      {
        kind: 'topic',
        setting: 'KAFKA_TOPIC_TRIAGE_COMPLETED',
        name: 'completed',
        needs: ['WRITE'],
        reason: 'allowed: READ, DESCRIBE',
        describe: false,
      },
    ]);
  });

  it('a consumed topic that may be written but not read: Read is missing', () => {
    expect(
      topicDenials(needs, [{ name: 'studies', errorCode: 0, authorizedOperations: ops('WRITE', 'DESCRIBE') }]),
    ).toMatchObject([{ setting: 'KAFKA_TOPIC_STUDY_AVAILABLE', needs: ['READ'], reason: 'allowed: WRITE, DESCRIBE' }]);
  });

  it('one topic named by two settings is judged for each', () => {
    const shared = { ...needs, write: [...needs.write, { setting: 'KAFKA_TOPIC_DEAD_LETTER', name: 'studies' }] };
    expect(
      topicDenials(shared, [{ name: 'studies', errorCode: 0, authorizedOperations: ops('READ', 'DESCRIBE') }]),
    ).toMatchObject([{ setting: 'KAFKA_TOPIC_DEAD_LETTER', needs: ['WRITE'] }]);
  });

  it('a missing topic, another error, an unknown field or no answer: not denials', () => {
    expect(
      topicDenials(needs, [
        { name: 'studies', errorCode: 3, authorizedOperations: OPERATIONS_UNKNOWN },
        { name: 'completed', errorCode: 5, authorizedOperations: 0 },
        { name: 'failed', errorCode: 0, authorizedOperations: OPERATIONS_UNKNOWN },
      ]),
    ).toEqual([]);
  });

  it('the group: GROUP_AUTHORIZATION_FAILED, or Describe without Read', () => {
    const group = needs.group!;
    expect(groupDenial(group, { groupId: 'worker', errorCode: 30, authorizedOperations: 0 })).toEqual({
      kind: 'group',
      setting: 'KAFKA_GROUP_ID',
      name: 'worker',
      needs: ['DESCRIBE', 'READ'],
      reason: 'GROUP_AUTHORIZATION_FAILED',
      describe: true,
    });
    expect(
      groupDenial(group, { groupId: 'worker', errorCode: 0, authorizedOperations: ops('DESCRIBE') }),
    ).toMatchObject({ needs: ['READ'], reason: 'allowed: DESCRIBE', describe: false });
    expect(
      groupDenial(group, { groupId: 'worker', errorCode: 0, authorizedOperations: ops('READ', 'DESCRIBE', 'DELETE') }),
    ).toBe(undefined);
    expect(groupDenial(group, { groupId: 'worker', errorCode: 16, authorizedOperations: 0 })).toBe(undefined);
  });
});
