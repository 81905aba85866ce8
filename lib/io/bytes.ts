/**
 * Where header bytes come from, and the cursor the parsers read them with. Every read is checked
 * against the file's size before anything is copied or allocated, and every failure is a
 * RangeError naming the file, the field and its byte offset (docs/files.md, "Hostile files").
 */

/** Bytes of a file, read by copying a range: an in-memory buffer, or a mapped file. */
export interface ByteSource {
  /** What errors call the file: its path, or a label. */
  readonly name: string;
  readonly size: number;
  /** A copy of [offset, offset + length); the caller has checked the range. */
  read(offset: number, length: number): Uint8Array;
}

export function bufferSource(bytes: Uint8Array, name = 'buffer'): ByteSource {
  return { name, size: bytes.length, read: (offset, length) => bytes.slice(offset, offset + length) };
}

/** The RangeError for malformed input: `<file>: <field> at byte <offset>: <problem>`. */
export function malformed(source: ByteSource, field: string, offset: number, problem: string): RangeError {
  return new RangeError(`${source.name}: ${field} at byte ${offset}: ${problem}`);
}

const WINDOW = 1 << 16;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads little-endian fields in order, through a window of copied bytes. */
export class Cursor {
  offset: number;
  private window: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  private start = 0;

  constructor(
    readonly source: ByteSource,
    offset = 0,
  ) {
    this.offset = offset;
  }

  /** Bytes left in the file after the cursor. */
  get remaining(): number {
    return this.source.size - this.offset;
  }

  fail(field: string, problem: string, at = this.offset): never {
    throw malformed(this.source, field, at, problem);
  }

  // Makes [offset, offset + length) readable from the window and returns its index there. Call it
  // before reading this.view: it may replace the window.
  private need(field: string, length: number): number {
    if (length > this.remaining) this.fail(field, `needs ${length} bytes, the file has ${Math.max(0, this.remaining)} left (truncated or a lying length)`);
    const end = this.offset + length;
    if (this.offset < this.start || end > this.start + this.window.length) {
      const size = Math.min(this.source.size - this.offset, Math.max(length, WINDOW));
      this.window = this.source.read(this.offset, size);
      this.view = new DataView(this.window.buffer, this.window.byteOffset, this.window.byteLength);
      this.start = this.offset;
    }
    const at = this.offset - this.start;
    this.offset = end;
    return at;
  }

  u8(field: string): number {
    const at = this.need(field, 1);
    return this.view.getUint8(at);
  }
  i8(field: string): number {
    const at = this.need(field, 1);
    return this.view.getInt8(at);
  }
  u16(field: string): number {
    const at = this.need(field, 2);
    return this.view.getUint16(at, true);
  }
  i16(field: string): number {
    const at = this.need(field, 2);
    return this.view.getInt16(at, true);
  }
  u32(field: string): number {
    const at = this.need(field, 4);
    return this.view.getUint32(at, true);
  }
  i32(field: string): number {
    const at = this.need(field, 4);
    return this.view.getInt32(at, true);
  }
  f32(field: string): number {
    const at = this.need(field, 4);
    return this.view.getFloat32(at, true);
  }
  f64(field: string): number {
    const at = this.need(field, 8);
    return this.view.getFloat64(at, true);
  }
  u64big(field: string): bigint {
    const at = this.need(field, 8);
    return this.view.getBigUint64(at, true);
  }
  i64big(field: string): bigint {
    const at = this.need(field, 8);
    return this.view.getBigInt64(at, true);
  }
  /** A u64 that must fit a JS number exactly (≤ 2⁵³ − 1); `limit` bounds it further. */
  u64(field: string, limit = Number.MAX_SAFE_INTEGER, what = 'a count'): number {
    const at = this.offset;
    const v = this.u64big(field);
    if (v > BigInt(limit)) this.fail(field, `${what} of ${v} is more than ${limit}`, at);
    return Number(v);
  }
  /** `length` raw bytes, a copy. */
  bytes(field: string, length: number): Uint8Array {
    const at = this.need(field, length);
    return this.window.slice(at, at + length);
  }
  /** `length` bytes of UTF-8, refusing invalid sequences. */
  utf8(field: string, length: number): string {
    const start = this.offset;
    const raw = this.bytes(field, length);
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail(field, 'is not valid UTF-8', start);
    }
  }
}
