/// <reference lib="esnext.disposable" preserve="true" />
/**
 * What every native-owned object (PackedInt8Matrix, LinearInt8, QuantizedMatrix, CsrMatrix,
 * PackedF32Matrix) shares: early release. Node frees an addon's objects only after the event
 * loop turns, so a synchronous loop that makes and drops matrices grows until it yields;
 * `dispose()` (or `using`) frees one at once. Using a disposed object is a TypeError naming it;
 * disposing twice does nothing; an async call already started keeps what it uses alive until it
 * settles. See docs/robustness.md.
 */
import { native, type NativeHandle } from './native';

// Node ≥ 20.4 defines Symbol.dispose (for `using`); older versions get the registered symbol
// TypeScript's downlevel helpers look for.
export const disposeSymbol: typeof Symbol.dispose = Symbol.dispose ?? (Symbol.for('Symbol.dispose') as typeof Symbol.dispose);

export abstract class NativeObject {
  /** @internal */
  abstract readonly handle: NativeHandle;

  /** Frees the native memory now. Later calls that use this object throw a TypeError. */
  dispose(): void {
    native.dispose(this.handle);
  }

  /** Whether {@link dispose} has been called. */
  get disposed(): boolean {
    return native.isDisposed(this.handle);
  }

  [disposeSymbol](): void {
    this.dispose();
  }
}

/** Bytes of native memory sparq holds in this process: live objects, and thread-local scratch. */
export interface NativeMemory {
  /** Bytes owned by live (not disposed, not yet collected) native objects. */
  objects: number;
  /** Bytes of per-thread scratch that kernels keep between calls (each thread keeps its largest). */
  scratch: number;
}

export function nativeMemory(): NativeMemory {
  const [objects, scratch] = native.nativeMemory();
  return { objects, scratch };
}
