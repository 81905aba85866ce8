/**
 * What both file formats describe: tensors by name, type, shape and place in the file; and what a
 * writer takes.
 */
import { writeSync } from 'node:fs';
import type { TensorType } from './types';

export interface TensorInfo {
  readonly name: string;
  readonly type: TensorType;
  /** Row-major, outermost first: a Linear weight is [n, k] (out, in). GGUF's ne order reversed. */
  readonly shape: readonly number[];
  /** Elements: the product of the shape (1 for a scalar). */
  readonly elements: number;
  /** Absolute byte offset of the data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

/** A tensor to write: its bytes as stored (the type's own layout), or a function that makes them when the writer reaches it. */
export interface TensorData {
  name: string;
  type: TensorType;
  shape: readonly number[];
  data: ArrayBufferView | (() => ArrayBufferView);
}

/** The bytes of a TensorData, checked to be the length its type and shape say. */
export function tensorBytes(fn: string, tensor: TensorData, expected: number): Uint8Array {
  const view = typeof tensor.data === 'function' ? tensor.data() : tensor.data;
  if (!ArrayBuffer.isView(view)) throw new TypeError(`${fn}: expected tensor '${tensor.name}' data: a typed array or a function returning one`);
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (bytes.length !== expected)
    throw new RangeError(`${fn}: expected tensor '${tensor.name}' data: ${expected} bytes (${tensor.type} ${JSON.stringify(tensor.shape)}), received ${bytes.length}`);
  return bytes;
}

/** The elements of a shape to write: null unless every dim is a non-negative integer and the product is exact. */
export function shapeElements(shape: readonly number[]): number | null {
  return shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? product(shape) : null;
}

/** writeSync until every byte is written (it may write fewer than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** Product of dims, or null when it passes 2⁵³ − 1 (not exact as a JS number). */
export function product(dims: readonly number[]): number | null {
  let total = 1;
  for (const d of dims) {
    total *= d;
    if (total > Number.MAX_SAFE_INTEGER) return null;
  }
  return total;
}
