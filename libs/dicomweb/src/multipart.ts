import { randomUUID } from 'node:crypto';
import { TooLargeError } from '@app/errors';

/**
 * multipart/related (RFC 2387 over RFC 2046 §5.1) for DICOMweb: a streaming
 * parser over the Web stream that `fetch` returns, and a builder for STOW-RS.
 *
 * The parser holds only the part being received (plus a tail shorter than the
 * delimiter), so a 100 MB series streams through in about one instance of memory.
 */

export interface MultipartPart {
  /** Part headers, names in lower case ("content-type"). */
  headers: Record<string, string>;
  /** The part's content: a standalone array (offset 0, its own buffer). */
  body: Uint8Array;
}

/** The body is not valid multipart, or it ended early (`truncated`). */
export class MultipartError extends Error {
  constructor(
    message: string,
    readonly truncated = false,
  ) {
    super(message);
    this.name = 'MultipartError';
  }
}

export interface MediaType {
  /** type/subtype in lower case. */
  type: string;
  /** Parameter names in lower case; values unquoted. */
  parameters: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a Content-Type value, including quoted parameters that contain ';' (Orthanc's `type="…; transfer-syntax=…"`). */
export function parseMediaType(header: string): MediaType {
  const semicolon = header.indexOf(';');
  const type = (semicolon < 0 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  const parameters: Record<string, string> = {};
  let i = semicolon < 0 ? header.length : semicolon + 1;
  while (i < header.length) {
    while (i < header.length && (header[i] === ' ' || header[i] === '\t' || header[i] === ';')) i++;
    let name = '';
    while (i < header.length && header[i] !== '=' && header[i] !== ';') name += header[i++];
    name = name.trim().toLowerCase();
    if (header[i] !== '=') continue; // a parameter without a value: ignore it
    i++;
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === '\\' && i + 1 < header.length) i++;
        value += header[i++];
      }
      i++; // closing quote
      while (i < header.length && header[i] !== ';') i++;
    } else {
      while (i < header.length && header[i] !== ';') value += header[i++];
      value = value.trim();
    }
    if (name && !(name in parameters)) parameters[name] = value;
  }
  return { type, parameters };
}

/** The boundary of a multipart Content-Type header; MultipartError when there is none. */
export function boundaryOf(contentType: string | null | undefined): string {
  if (!contentType) throw new MultipartError('the response has no Content-Type; expected multipart/related');
  const { type, parameters } = parseMediaType(contentType);
  if (!type.startsWith('multipart/')) throw new MultipartError(`expected a multipart response, got ${type || 'none'}`);
  const boundary = parameters['boundary'];
  // RFC 2046: 1 to 70 characters; some servers exceed 70, so only the lower bound and sanity are enforced.
  if (!boundary || boundary.length > 200 || /[\r\n]/.test(boundary)) {
    throw new MultipartError('the multipart Content-Type has no usable boundary parameter');
  }
  return boundary;
}

/** One part (a Part 10 instance) may not grow beyond this: an enhanced CT of 600 frames is ~300 MB. */
export const MAX_PART_BYTES = 1024 * 2 ** 20;

export interface ParseOptions {
  /** Refuse part header blocks larger than this (default 16 KiB). */
  maxHeaderBytes?: number;
  /** Refuse a part whose body grows beyond this (default MAX_PART_BYTES): TooLargeError. */
  maxPartBytes?: number;
  /** Called with each chunk's size as it arrives (progress, idle timeouts). */
  onChunk?: (bytes: number) => void;
}

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

type State = 'preamble' | 'delimiter' | 'headers' | 'body' | 'epilogue';

/**
 * Push parser: feed chunks, collect completed parts. Exported for the tests and
 * for callers with their own byte sources; most code wants parseMultipartStream.
 */
export class MultipartParser {
  private readonly delimiter: Buffer;
  private readonly maxHeaderBytes: number;
  private readonly maxPartBytes: number;
  private state: State = 'preamble';
  // The delimiter is CRLF "--" boundary; a virtual CRLF before the body lets the
  // first delimiter match at offset 0 the same way as one after a preamble.
  private buffer: Buffer = Buffer.from(CRLF);
  private headers: Record<string, string> = {};
  private bodyChunks: Buffer[] = [];
  private bodyLength = 0;

  constructor(boundary: string, options: Pick<ParseOptions, 'maxHeaderBytes' | 'maxPartBytes'> = {}) {
    if (!boundary) throw new MultipartError('empty multipart boundary');
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
    this.maxPartBytes = options.maxPartBytes ?? MAX_PART_BYTES;
  }

  /** Adds bytes; returns the parts completed by them, in order. */
  push(chunk: Uint8Array): MultipartPart[] {
    if (chunk.byteLength === 0) return [];
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.buffer = this.buffer.length === 0 ? bytes : Buffer.concat([this.buffer, bytes]);
    const parts: MultipartPart[] = [];
    this.process(parts);
    return parts;
  }

  /** Declares the end of the input: MultipartError (truncated) unless the close delimiter was seen. */
  end(): void {
    if (this.state === 'epilogue') return;
    const where =
      this.state === 'preamble'
        ? 'before the first boundary delimiter'
        : this.state === 'body'
          ? 'inside a part'
          : this.state === 'headers'
            ? 'inside part headers'
            : 'after a boundary delimiter';
    throw new MultipartError(`multipart body ended ${where}, without the close delimiter`, true);
  }

  /** True once the close delimiter has been read. */
  get complete(): boolean {
    return this.state === 'epilogue';
  }

  private process(parts: MultipartPart[]): void {
    for (;;) {
      switch (this.state) {
        case 'preamble': {
          const at = this.buffer.indexOf(this.delimiter);
          if (at < 0) {
            this.keepTail();
            return;
          }
          this.buffer = this.buffer.subarray(at + this.delimiter.length);
          this.state = 'delimiter';
          break;
        }
        case 'delimiter': {
          // After "--boundary": "--" closes the body; otherwise optional
          // transport padding (spaces, tabs), then CRLF and the part headers.
          if (this.buffer.length < 2) return;
          if (this.buffer[0] === 0x2d && this.buffer[1] === 0x2d) {
            this.state = 'epilogue';
            this.buffer = EMPTY;
            return;
          }
          const eol = this.buffer.indexOf(CRLF);
          // Without the CRLF yet, a trailing CR may be its first half.
          const line = this.buffer.subarray(0, eol >= 0 ? eol : this.buffer.at(-1) === 0x0d ? -1 : undefined);
          if (!line.every((byte) => byte === 0x20 || byte === 0x09)) {
            throw new MultipartError('malformed multipart boundary delimiter line');
          }
          if (eol < 0) {
            if (this.buffer.length > 1024) throw new MultipartError('malformed multipart boundary delimiter line');
            return;
          }
          this.buffer = this.buffer.subarray(eol + 2);
          this.headers = {};
          this.state = 'headers';
          break;
        }
        case 'headers': {
          if (this.buffer.length < 2) return;
          if (this.buffer[0] === 0x0d && this.buffer[1] === 0x0a) {
            // No headers at all: the delimiter line is followed by an empty line.
            this.buffer = this.buffer.subarray(2);
            this.state = 'body';
            break;
          }
          const end = this.buffer.indexOf(CRLFCRLF);
          if (end < 0) {
            if (this.buffer.length > this.maxHeaderBytes) throw new MultipartError('multipart part headers too large');
            return;
          }
          if (end > this.maxHeaderBytes) throw new MultipartError('multipart part headers too large');
          this.headers = parseHeaderBlock(this.buffer.toString('latin1', 0, end));
          this.buffer = this.buffer.subarray(end + 4);
          this.state = 'body';
          break;
        }
        case 'body': {
          const at = this.buffer.indexOf(this.delimiter);
          if (at < 0) {
            // Everything except a tail that could be the start of a delimiter is content.
            const safe = this.buffer.length - (this.delimiter.length - 1);
            if (safe > 0) {
              this.addToBody(safe);
            }
            return;
          }
          this.addToBody(at);
          parts.push({ headers: this.headers, body: this.takeBody() });
          this.buffer = this.buffer.subarray(this.delimiter.length);
          this.state = 'delimiter';
          break;
        }
        case 'epilogue':
          this.buffer = EMPTY;
          return;
      }
    }
  }

  /** Moves the buffer's first `length` bytes into the current part's body. */
  private addToBody(length: number): void {
    if (this.bodyLength + length > this.maxPartBytes) throw new TooLargeError('a multipart part', this.maxPartBytes);
    this.bodyChunks.push(this.buffer.subarray(0, length));
    this.bodyLength += length;
    this.buffer = this.buffer.subarray(length);
  }

  /** In the preamble only a possible delimiter prefix has to be kept. */
  private keepTail(): void {
    const keep = Math.min(this.buffer.length, this.delimiter.length - 1);
    this.buffer = Buffer.from(this.buffer.subarray(this.buffer.length - keep));
  }

  private takeBody(): Uint8Array {
    const body = new Uint8Array(this.bodyLength);
    let offset = 0;
    for (const chunk of this.bodyChunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    this.bodyChunks = [];
    this.bodyLength = 0;
    return body;
  }
}

function parseHeaderBlock(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  let last: string | undefined;
  for (const line of block.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      const previous = headers[last];
      headers[last] = previous ? `${previous} ${line.trim()}` : line.trim(); // obsolete line folding
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError('malformed multipart part header');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!TOKEN.test(name)) throw new MultipartError('malformed multipart part header');
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    last = name;
  }
  return headers;
}

/**
 * Yields the parts of a multipart body as they complete. Only the current part
 * is buffered. Ending without the close delimiter is an error (truncated), never
 * a silent short result. Stopping early (break/return) cancels the stream.
 */
export async function* parseMultipartStream(
  stream: ReadableStream<Uint8Array>,
  boundary: string,
  options: ParseOptions = {},
): AsyncGenerator<MultipartPart, void, undefined> {
  const parser = new MultipartParser(boundary, options);
  const reader = stream.getReader();
  let finished = false;
  let epilogue = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        parser.end();
        return;
      }
      options.onChunk?.(value.byteLength);
      if (parser.complete) {
        // Read the (normally tiny) epilogue to the end so that the connection can be reused.
        epilogue += value.byteLength;
        if (epilogue > 64 * 1024) return;
        continue;
      }
      for (const part of parser.push(value)) yield part;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

export interface BuiltMultipart {
  body: Uint8Array;
  /** The request's Content-Type: multipart/related; type="…"; boundary=… */
  contentType: string;
  boundary: string;
}

export interface MultipartInputPart {
  body: Uint8Array;
  /** Defaults to the multipart's root type. */
  contentType?: string;
  headers?: Record<string, string>;
}

/** Builds a multipart/related body in one allocation; the boundary is random and checked against the content. */
export function buildMultipartRelated(
  parts: readonly (Uint8Array | MultipartInputPart)[],
  options: { type: string; boundary?: string },
): BuiltMultipart {
  const normalized = parts.map((part) => (part instanceof Uint8Array ? { body: part } : part));
  let boundary = options.boundary ?? `DICOMwebBoundary-${randomUUID()}`;
  const clashes = (candidate: string) => {
    const marker = Buffer.from(`--${candidate}`, 'latin1');
    return normalized.some((part) =>
      Buffer.from(part.body.buffer, part.body.byteOffset, part.body.byteLength).includes(marker),
    );
  };
  while (clashes(boundary)) {
    if (options.boundary) throw new MultipartError('the given multipart boundary occurs inside a part');
    boundary = `DICOMwebBoundary-${randomUUID()}`;
  }
  const heads = normalized.map((part) => {
    const lines = [`--${boundary}`, `Content-Type: ${part.contentType ?? options.type}`];
    for (const [name, value] of Object.entries(part.headers ?? {})) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value))
        throw new MultipartError('multipart part header with a line break');
      lines.push(`${name}: ${value}`);
    }
    return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  });
  const close = Buffer.from(`--${boundary}--\r\n`, 'latin1');
  const total = normalized.reduce((sum, part, i) => sum + heads[i].length + part.body.byteLength + 2, close.length);
  const body = new Uint8Array(total);
  let offset = 0;
  normalized.forEach((part, i) => {
    body.set(heads[i], offset);
    offset += heads[i].length;
    body.set(part.body, offset);
    offset += part.body.byteLength;
    body.set(CRLF, offset);
    offset += 2;
  });
  body.set(close, offset);
  const type = options.type.replace(/["\\]/g, '\\$&');
  return { body, boundary, contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}
