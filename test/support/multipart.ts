/**
 * Just enough multipart/related for the smoke tests. The product's DICOMweb
 * client has its own streaming implementation; this one stays deliberately naive.
 */
export function buildMultipartRelated(parts: Buffer[], contentType = 'application/dicom') {
  const boundary = `smoke-${crypto.randomUUID()}`;
  const chunks = parts.flatMap((part) => [
    Buffer.from(`--${boundary}\r\nContent-Type: ${contentType}\r\n\r\n`),
    part,
    Buffer.from('\r\n'),
  ]);
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    body: Buffer.concat(chunks),
    contentType: `multipart/related; type="${contentType}"; boundary=${boundary}`,
  };
}

export function parseMultipartRelated(body: Buffer, contentTypeHeader: string): Buffer[] {
  const match = /boundary="?([^";]+)"?/i.exec(contentTypeHeader);
  if (!match) throw new Error(`no boundary in ${contentTypeHeader}`);
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts: Buffer[] = [];
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(start + delimiter.length, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    // The part body ends with the CRLF that precedes the next delimiter.
    parts.push(part.subarray(headerEnd + 4, part.length - 2));
    start = next;
  }
  return parts;
}
