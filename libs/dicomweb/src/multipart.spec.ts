import { describe, expect, it } from 'vitest';
import {
  boundaryOf,
  buildMultipartRelated,
  MultipartError,
  MultipartParser,
  parseMediaType,
  parseMultipartStream,
  type MultipartPart,
} from './multipart.js';

const BOUNDARY = 'b0undary';

/** A small body with everything the parser must get right. */
function sampleBody(): { bytes: Buffer; parts: { headers: Record<string, string>; body: Buffer }[] } {
  const binary = Buffer.from([0x00, 0x0d, 0x0a, 0x2d, 0x2d, 0x62, 0x30, 0x0d, 0x0a, 0xff, 0x0d]); // CRLF, "--b0", a lone CR
  const parts: { headers: Record<string, string>; body: Buffer }[] = [
    { headers: { 'content-type': 'application/dicom' }, body: binary },
    // An empty part, and one whose content nearly contains the delimiter.
    { headers: { 'content-type': 'application/dicom', 'content-location': 'x' }, body: Buffer.alloc(0) },
    { headers: {}, body: Buffer.from(`\r\n--b0undar\r\n-${BOUNDARY}`) },
  ];
  const bytes = Buffer.concat([
    Buffer.from('preamble to ignore\r\n'),
    Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`),
    binary,
    Buffer.from(`\r\n--${BOUNDARY} \t\r\ncontent-type: application/dicom\r\nContent-Location:\r\n x\r\n\r\n`),
    Buffer.from(`\r\n--${BOUNDARY}\r\n\r\n`),
    parts[2].body,
    Buffer.from(`\r\n--${BOUNDARY}--\r\nepilogue, also ignored`),
  ]);
  return { bytes, parts };
}

function streamOf(chunks: Uint8Array[], onCancel?: () => void): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index < chunks.length) controller.enqueue(chunks[index++]);
      else controller.close();
    },
    cancel() {
      onCancel?.();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>, boundary = BOUNDARY): Promise<MultipartPart[]> {
  const parts: MultipartPart[] = [];
  for await (const part of parseMultipartStream(stream, boundary)) parts.push(part);
  return parts;
}

/** Synchronous run of the push parser over the given chunking. */
function parseChunks(chunks: Uint8Array[], boundary = BOUNDARY): MultipartPart[] {
  const parser = new MultipartParser(boundary);
  const parts = chunks.flatMap((chunk) => parser.push(chunk));
  parser.end();
  return parts;
}

function sameParts(parts: MultipartPart[], expected: ReturnType<typeof sampleBody>['parts']): boolean {
  return (
    parts.length === expected.length &&
    parts.every(
      (part, i) =>
        JSON.stringify(part.headers) === JSON.stringify(expected[i].headers) &&
        Buffer.from(part.body).equals(expected[i].body),
    )
  );
}

describe('parseMediaType / boundaryOf', () => {
  it('reads quoted and unquoted boundaries', () => {
    expect(boundaryOf('multipart/related; type="application/dicom"; boundary=abc-123')).toBe('abc-123');
    expect(boundaryOf('multipart/related; boundary="a b;c"; type=application/dicom')).toBe('a b;c');
    expect(boundaryOf('Multipart/Related;BOUNDARY=xyz')).toBe('xyz');
  });

  it("handles Orthanc's frames Content-Type, whose quoted type contains ';'", () => {
    const header =
      'multipart/related; type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"; boundary=3dec02b9-886f';
    expect(parseMediaType(header)).toEqual({
      type: 'multipart/related',
      parameters: { type: 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1', boundary: '3dec02b9-886f' },
    });
    expect(boundaryOf(header)).toBe('3dec02b9-886f');
  });

  it('unescapes quoted-pairs', () => {
    expect(parseMediaType('a/b; x="q\\"uote"').parameters).toEqual({ x: 'q"uote' });
  });

  it('refuses non-multipart types and missing boundaries', () => {
    expect(() => boundaryOf('application/dicom+json')).toThrow(MultipartError);
    expect(() => boundaryOf('multipart/related; type="application/dicom"')).toThrow(/boundary/);
    expect(() => boundaryOf('multipart/related; boundary=""')).toThrow(/boundary/);
    expect(() => boundaryOf(null)).toThrow(/Content-Type/);
  });
});

describe('MultipartParser', () => {
  const sample = sampleBody();

  it('parses the sample in one chunk', () => {
    const parts = parseChunks([sample.bytes]);
    expect(parts.map((part) => part.headers)).toEqual(sample.parts.map((part) => part.headers));
    expect(parts.map((part) => Buffer.from(part.body))).toEqual(sample.parts.map((part) => part.body));
  });

  it('refuses a part that grows past maxPartBytes, in one chunk or many (TOO_LARGE)', () => {
    const built = buildMultipartRelated([Buffer.alloc(5_000, 1), Buffer.alloc(10, 2)], {
      type: 'application/dicom',
      boundary: BOUNDARY,
    });
    const body = Buffer.from(built.body);
    expect(new MultipartParser(BOUNDARY, { maxPartBytes: 5_000 }).push(body)).toHaveLength(2);
    expect(() => new MultipartParser(BOUNDARY, { maxPartBytes: 4_999 }).push(body)).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', message: 'a multipart part exceeds the limit of 4999 bytes' }),
    );
    const parser = new MultipartParser(BOUNDARY, { maxPartBytes: 4_999 });
    expect(() => {
      for (let i = 0; i < body.length; i += 100) parser.push(body.subarray(i, i + 100));
    }).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
  });

  it('parses the sample split at every byte offset', () => {
    const wrong: number[] = [];
    for (let i = 0; i <= sample.bytes.length; i++) {
      const parts = parseChunks([sample.bytes.subarray(0, i), sample.bytes.subarray(i)]);
      if (!sameParts(parts, sample.parts)) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  it('parses the sample split at every pair of offsets', () => {
    const n = sample.bytes.length;
    const wrong: string[] = [];
    for (let i = 0; i <= n; i++) {
      for (let j = i; j <= n; j++) {
        const chunks = [sample.bytes.subarray(0, i), sample.bytes.subarray(i, j), sample.bytes.subarray(j)];
        if (!sameParts(parseChunks(chunks), sample.parts)) wrong.push(`${i},${j}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('parses the sample one byte at a time', () => {
    const chunks = [...sample.bytes].map((byte) => Uint8Array.of(byte));
    expect(sameParts(parseChunks(chunks), sample.parts)).toBe(true);
  });

  it('accepts a body that starts directly with the delimiter and has no epilogue', () => {
    const body = Buffer.from(`--${BOUNDARY}\r\n\r\nhello\r\n--${BOUNDARY}--`);
    const parts = parseChunks([body]);
    expect(parts.map((p) => Buffer.from(p.body).toString())).toEqual(['hello']);
  });

  it('yields zero parts for a body with only the close delimiter', () => {
    expect(parseChunks([Buffer.from(`--${BOUNDARY}--\r\n`)])).toEqual([]);
  });

  it('reports truncation at every offset before the close delimiter, after yielding completed parts', () => {
    const closeAt = sample.bytes.indexOf(`\r\n--${BOUNDARY}--`) + `\r\n--${BOUNDARY}--`.length;
    for (let i = 0; i < closeAt; i++) {
      const parser = new MultipartParser(BOUNDARY);
      const parts = parser.push(sample.bytes.subarray(0, i));
      expect(parts.length).toBeLessThanOrEqual(sample.parts.length);
      let error: unknown;
      try {
        parser.end();
      } catch (caught) {
        error = caught;
      }
      expect(error, `truncated at ${i}`).toBeInstanceOf(MultipartError);
      expect((error as MultipartError).truncated).toBe(true);
    }
  });

  it('keeps a part larger than one chunk intact', () => {
    const big = Buffer.alloc(1_000_003);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    // Salt the content with delimiter look-alikes.
    big.write(`\r\n--${BOUNDARY.slice(0, -1)}`, 1000, 'latin1');
    const body = Buffer.concat([
      Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`),
      big,
      Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
    ]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += 65_536) chunks.push(body.subarray(i, i + 65_536));
    const parts = parseChunks(chunks);
    expect(parts).toHaveLength(1);
    expect(Buffer.from(parts[0].body).equals(big)).toBe(true);
    expect(parts[0].body.byteOffset).toBe(0);
    expect(parts[0].body.buffer.byteLength).toBe(big.length);
  });

  it('refuses malformed delimiter lines and headers', () => {
    expect(() => parseChunks([Buffer.from(`--${BOUNDARY}x\r\n\r\n\r\n--${BOUNDARY}--`)])).toThrow(/delimiter/);
    expect(() => parseChunks([Buffer.from(`--${BOUNDARY}\r\nno colon here\r\n\r\nx\r\n--${BOUNDARY}--`)])).toThrow(
      /header/,
    );
    const parser = new MultipartParser(BOUNDARY, { maxHeaderBytes: 64 });
    expect(() => parser.push(Buffer.from(`--${BOUNDARY}\r\nX-Long: ${'a'.repeat(100)}\r\n`))).toThrow(/too large/);
  });

  it('joins folded and repeated headers', () => {
    const body = Buffer.from(`--${BOUNDARY}\r\nX-A: 1\r\nx-a: 2\r\nX-B: one\r\n\ttwo\r\n\r\n\r\n--${BOUNDARY}--`);
    expect(parseChunks([body])[0].headers).toEqual({ 'x-a': '1, 2', 'x-b': 'one two' });
  });
});

describe('parseMultipartStream', () => {
  const sample = sampleBody();

  it('streams the parts at every two-chunk split', async () => {
    const wrong: number[] = [];
    for (let i = 0; i <= sample.bytes.length; i++) {
      const parts = await collect(streamOf([sample.bytes.subarray(0, i), sample.bytes.subarray(i)]));
      if (!sameParts(parts, sample.parts)) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  it('yields each part as soon as it is complete', async () => {
    const firstPartEnd = sample.bytes.indexOf(`\r\n--${BOUNDARY} `) + 4 + BOUNDARY.length;
    let delivered = 0;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(sample.bytes.subarray(0, firstPartEnd));
      },
      pull() {
        delivered++;
        // Never delivers more: the first part must still arrive.
      },
    });
    const iterator = parseMultipartStream(stream, BOUNDARY);
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(Buffer.from(first.value!.body).equals(sample.parts[0].body)).toBe(true);
    expect(delivered).toBeGreaterThanOrEqual(0);
    await iterator.return();
  });

  it('rejects a truncated stream instead of ending quietly', async () => {
    const cut = sample.bytes.subarray(0, sample.bytes.length - 30);
    const parts: MultipartPart[] = [];
    await expect(async () => {
      for await (const part of parseMultipartStream(streamOf([cut]), BOUNDARY)) parts.push(part);
    }).rejects.toThrow(expect.objectContaining({ truncated: true }));
    expect(parts).toHaveLength(2);
  });

  it('propagates a stream error', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(sample.bytes.subarray(0, 50));
        controller.error(new TypeError('terminated'));
      },
    });
    await expect(collect(stream)).rejects.toThrow('terminated');
  });

  it('cancels the stream when the consumer stops early', async () => {
    let cancelled = false;
    const chunks = [sample.bytes.subarray(0, 100), sample.bytes.subarray(100, 120), sample.bytes.subarray(120)];
    const stream = streamOf(chunks, () => {
      cancelled = true;
    });
    for await (const part of parseMultipartStream(stream, BOUNDARY)) {
      expect(part.body.length).toBe(sample.parts[0].body.length);
      break;
    }
    expect(cancelled).toBe(true);
  });

  it('reads the epilogue to the end rather than cancelling', async () => {
    let cancelled = false;
    const stream = streamOf([sample.bytes, Buffer.from('more epilogue')], () => {
      cancelled = true;
    });
    expect(sameParts(await collect(stream), sample.parts)).toBe(true);
    expect(cancelled).toBe(false);
  });

  it('reports each chunk to onChunk', async () => {
    const sizes: number[] = [];
    for await (const _ of parseMultipartStream(
      streamOf([sample.bytes.subarray(0, 10), sample.bytes.subarray(10)]),
      BOUNDARY,
      {
        onChunk: (bytes) => sizes.push(bytes),
      },
    )) {
      // consume
    }
    expect(sizes).toEqual([10, sample.bytes.length - 10]);
  });
});

describe('buildMultipartRelated', () => {
  it('round-trips through the parser', () => {
    const parts = [Buffer.from('one'), Buffer.alloc(0), Buffer.from(`\r\n--not-the-boundary\r\n`)];
    const built = buildMultipartRelated(parts, { type: 'application/dicom' });
    expect(built.contentType).toBe(`multipart/related; type="application/dicom"; boundary=${built.boundary}`);
    expect(boundaryOf(built.contentType)).toBe(built.boundary);
    const parsed = parseChunks([built.body], built.boundary);
    expect(parsed.map((p) => Buffer.from(p.body))).toEqual(parts);
    expect(parsed.every((p) => p.headers['content-type'] === 'application/dicom')).toBe(true);
  });

  it('writes per-part content types and headers', () => {
    const built = buildMultipartRelated(
      [{ body: Buffer.from('{}'), contentType: 'application/dicom+json', headers: { 'Content-Location': 'a' } }],
      { type: 'application/dicom+json', boundary: 'fixed' },
    );
    expect(Buffer.from(built.body).toString()).toBe(
      '--fixed\r\nContent-Type: application/dicom+json\r\nContent-Location: a\r\n\r\n{}\r\n--fixed--\r\n',
    );
  });

  it('never uses a boundary that occurs in a part', () => {
    expect(() => buildMultipartRelated([Buffer.from('x--fixed')], { type: 'a/b', boundary: 'fixed' })).toThrow(
      MultipartError,
    );
    expect(() =>
      buildMultipartRelated([{ body: Buffer.from('x'), headers: { 'X-Bad': 'a\r\nb' } }], { type: 'a/b' }),
    ).toThrow(/line break/);
  });
});
