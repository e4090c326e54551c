import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_SEQUENCE_DEPTH, readPart10 } from './part10-reader.js';

/** Hostile inputs: bounded work and a TOO_LARGE answer instead of a process taken down. */

function element(group: number, elementNumber: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'SQ', 'UN'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elementNumber, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

function uid(text: string): Buffer {
  return Buffer.from(text.length % 2 ? `${text}\0` : text, 'latin1');
}

function part10(transferSyntax: string, body: Buffer): Buffer {
  const meta = element(0x0002, 0x0010, 'UI', uid(transferSyntax));
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), meta, body]);
}

const SOP = element(0x0008, 0x0018, 'UI', uid('1.2.3.4'));

/** An item or delimitation tag with its 32-bit length. */
function tag(group: number, el: number, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(group, 0);
  b.writeUInt16LE(el, 2);
  b.writeUInt32LE(length, 4);
  return b;
}

/** `depth` sequences of undefined length, each holding one item that holds the next. */
function nested(depth: number): Buffer {
  const open = Buffer.concat([
    Buffer.from([0x08, 0x00, 0x15, 0x11]),
    Buffer.from('SQ', 'latin1'),
    Buffer.from([0, 0, 0xff, 0xff, 0xff, 0xff]),
    tag(0xfffe, 0xe000, 0xffffffff),
  ]);
  const close = Buffer.concat([tag(0xfffe, 0xe00d, 0), tag(0xfffe, 0xe0dd, 0)]);
  return Buffer.concat([...Array<Buffer>(depth).fill(open), ...Array<Buffer>(depth).fill(close)]);
}

describe('readPart10 bounds', () => {
  it('inflates a deflated dataset only up to the limit (deflate bomb → TOO_LARGE)', () => {
    const bomb = Buffer.concat([SOP, element(0x0011, 0x1000, 'OB', Buffer.alloc(4 * 2 ** 20))]);
    const file = part10('1.2.840.10008.1.2.1.99', deflateRawSync(bomb));
    expect(file.length).toBeLessThan(16 * 1024);
    expect(() => readPart10(file, { maxInflatedBytes: 2 ** 20 })).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', message: 'the inflated dataset exceeds the limit of 1 MiB' }),
    );
    expect(readPart10(file).dataset.string('SOPInstanceUID')).toBe('1.2.3.4');
  });

  it(`reads sequences nested ${MAX_SEQUENCE_DEPTH} deep and refuses deeper ones`, () => {
    const ok = part10('1.2.840.10008.1.2.1', Buffer.concat([SOP, nested(MAX_SEQUENCE_DEPTH)]));
    expect(readPart10(ok).dataset.string('SOPInstanceUID')).toBe('1.2.3.4');
    const deep = part10('1.2.840.10008.1.2.1', Buffer.concat([SOP, nested(10_000)]));
    expect(() => readPart10(deep)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
  });
});
