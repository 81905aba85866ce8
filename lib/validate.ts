/**
 * Argument checks shared by the native path and the reference path. One message template:
 * `<fn>: expected <name>: <what>, received <what came>`. TypeError for the wrong kind,
 * RangeError for the wrong size or value (Node's own split).
 */

/** Largest m, n or row count the native layer accepts (its indices are 32-bit). */
export const MAX_DIM = 0x7fffffff;
/** Largest K for which every int8 GEMM sum is exact in int32: 255·128·65536 < 2³¹. */
export const MAX_K = 65536;

type TypedArrayCtor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Uint16ArrayConstructor
  | Float64ArrayConstructor;

/** What a value is, for error messages: `Uint8Array of length 100`, `number 1.5`, `null`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) {
    const name = tag(value);
    const detached = value.byteLength === 0 && value.buffer.byteLength === 0 && isDetached(value.buffer);
    return detached ? `${name} with a detached buffer` : `${name} of length ${(value as unknown as { length: number }).length ?? value.byteLength}`;
  }
  switch (typeof value) {
    case 'number':
      return `number ${value}`;
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
    case 'bigint':
      return `bigint ${value}`;
    case 'undefined':
      return 'undefined';
    case 'boolean':
      return `boolean ${value}`;
    case 'function':
      return 'function';
    default:
      return Array.isArray(value) ? `Array of length ${value.length}` : `${(value as object).constructor?.name ?? 'object'}`;
  }
}

// The real element type of a typed array, from the intrinsic %TypedArray%.prototype getter: it
// reads the internal slot, so neither a redefined Symbol.toStringTag nor a swapped prototype
// can make an Int8Array pass for a Float32Array. Undefined for anything that is not a typed array.
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Int8Array.prototype) as object,
  Symbol.toStringTag,
)!.get as (this: unknown) => string | undefined;

/** The element type's name of a typed array, or undefined. */
export function typedArrayName(value: unknown): string | undefined {
  return typedArrayTag.call(value);
}

function tag(value: object): string {
  return typedArrayTag.call(value) ?? (ArrayBuffer.isView(value) ? 'DataView' : 'object');
}

function isDetached(buffer: ArrayBufferLike): boolean {
  const flag = (buffer as { detached?: boolean }).detached;
  if (typeof flag === 'boolean') return flag;
  try {
    // A zero-length slice of a detached buffer throws; of a live empty buffer it does not.
    buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

export function fail(kind: 'type' | 'range', fn: string, name: string, expected: string, value: unknown): never {
  const message = `${fn}: expected ${name}: ${expected}, received ${describe(value)}`;
  throw kind === 'type' ? new TypeError(message) : new RangeError(message);
}

/** An integer in [min, max]. */
export function int(fn: string, name: string, value: unknown, min = 0, max = MAX_DIM): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail('type', fn, name, 'an integer', value);
  if (value < min || value > max) fail('range', fn, name, `an integer in [${min}, ${max}]`, value);
  return value;
}

/**
 * Most rows a sparse builder makes beyond the entries it is given. A CSR matrix needs 4 bytes of
 * indptr per row (and the builders a few more while they work) even when it holds no entry, so
 * rows not backed by input are capped: `fromCoo(2³¹ − 1, …)` with 79 triples would otherwise
 * commit gigabytes before anything could fail. fromArrays is bounded by the indptr it is given.
 */
export const MAX_UNBACKED_ROWS = 2 ** 24;

/** A builder's row count: at most MAX_UNBACKED_ROWS, or the number of entries given. */
export function builtRows(fn: string, rows: number, given: number): void {
  if (rows > Math.max(MAX_UNBACKED_ROWS, given)) {
    fail('range', fn, 'rows', `at most ${MAX_UNBACKED_ROWS} or the number of entries given (${given})`, rows);
  }
}

/**
 * An output that no input backs: a product over an inner dimension of 0 (a CSR matrix with no
 * columns) is all zeros, or the bias, whatever m or n say. Such outputs are held to the same
 * MAX_UNBACKED_ROWS elements, so a few bytes of input cannot make sparq commit gigabytes.
 */
export function unbackedOutput(fn: string, name: string, value: number, elements: number, product: string, why: string): void {
  if (elements > MAX_UNBACKED_ROWS) {
    fail('range', fn, name, `${product} ≤ ${MAX_UNBACKED_ROWS} when ${why} (nothing backs the output)`, value);
  }
}

/** m·n (or any product of dims) as an exact element count. */
export function count(fn: string, what: string, ...dims: number[]): number {
  let product = 1;
  for (const d of dims) product *= d;
  if (!Number.isSafeInteger(product)) throw new RangeError(`${fn}: ${what} = ${product} overflows`);
  return product;
}

/**
 * A typed array of the given type. `length` is the number of elements required; `exact`
 * demands exactly that many (weights), otherwise at least (activations, outputs), and
 * `formula` says where the number comes from (`m·k`).
 */
export function typed<C extends TypedArrayCtor>(
  fn: string,
  name: string,
  value: unknown,
  ctor: C,
  length: number,
  formula: string,
  exact = false,
): InstanceType<C> {
  // The intrinsic tag, not instanceof or Symbol.toStringTag, both of which a caller can forge;
  // it also accepts arrays from another realm.
  if (typedArrayTag.call(value) !== ctor.name) {
    fail('type', fn, name, ctor.name, value);
  }
  // A detached buffer reads as length 0, so it fails here whenever anything is required, and
  // explicitly when an empty array would do (it would otherwise pass as an empty input).
  const actual = (value as unknown as { length: number }).length;
  const view = value as unknown as ArrayBufferView;
  if (length === 0 && view.buffer.byteLength === 0 && isDetached(view.buffer)) {
    fail('range', fn, name, `${ctor.name} (${formula})`, value);
  }
  if (exact ? actual !== length : actual < length) {
    fail('range', fn, name, `${ctor.name} of length ${exact ? '' : '≥ '}${length} (${formula})`, value);
  }
  return value as InstanceType<C>;
}

/** An options bag: undefined or a plain object. */
export function options<T extends object>(fn: string, value: unknown): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('type', fn, 'options', 'an object', value);
  return value as Partial<T>;
}

/** An async result copied into the caller's `out` when given (re-checked: it may have been detached meanwhile). */
export function copyInto<T extends Int32Array | Float32Array>(fn: string, result: T, out: T | undefined): T {
  if (out === undefined) return result;
  const expected = typedArrayName(result)!;
  if (typedArrayName(out) !== expected) fail('type', fn, 'out', expected, out);
  if (out.length < result.length) fail('range', fn, 'out', `an array of length ≥ ${result.length} when the work completed`, out);
  out.set(result);
  return out;
}
