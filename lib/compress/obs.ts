/**
 * The column sweep SparseGPT and GPTQ share (optimal brain surgeon with lazy batched updates):
 * columns left to right; each weight is replaced (pruned to 0, or rounded to a code) and its error,
 * divided by Uⱼⱼ, is taken off the columns not yet visited through row j of U (UᵀU = H⁻¹). Inside a
 * block of columns the update is immediate; the columns after the block get the block's errors at
 * once, E·U[block, rest], on sparq's f32 GEMM.
 */
import { gemmF32 } from '../dense';

export interface ObsStep {
  /** Before the columns [b0, b1) are visited (SparseGPT chooses its block mask here). */
  block?(b0: number, b1: number): void;
  /** At column j, before its rows (GPTQ fixes a quantization block's scales, N:M a group's mask). */
  column?(j: number): void;
  /** What row i's weight w at column j becomes. */
  value(i: number, j: number, w: number): number;
}

/** Sweeps weights [n×k] (f64, in place) with U [k×k] upper triangular, blocks of `blockSize` columns. */
export function obsSweep(weights: Float64Array, n: number, k: number, u: Float64Array, blockSize: number, step: ObsStep): void {
  for (let b0 = 0; b0 < k; b0 += blockSize) {
    const b1 = Math.min(k, b0 + blockSize), width = b1 - b0;
    step.block?.(b0, b1);
    const errors = new Float32Array(n * width);
    for (let j = b0; j < b1; j++) {
      step.column?.(j);
      const d = u[j * k + j]!;
      for (let i = 0; i < n; i++) {
        const w = weights[i * k + j]!;
        const q = step.value(i, j, w);
        if (q === w) continue;
        const error = (w - q) / d;
        weights[i * k + j] = q;
        errors[i * width + j - b0] = error;
        for (let c = j + 1; c < b1; c++) weights[i * k + c] = weights[i * k + c]! - error * u[j * k + c]!;
      }
    }
    const rest = k - b1;
    if (rest > 0) {
      const ub = new Float32Array(width * rest);
      for (let r = 0; r < width; r++) for (let c = 0; c < rest; c++) ub[r * rest + c] = u[(b0 + r) * k + b1 + c]!;
      const update = gemmF32(errors, ub, n, rest, width);
      for (let i = 0; i < n; i++) for (let c = 0; c < rest; c++) weights[i * k + b1 + c] = weights[i * k + b1 + c]! - update[i * rest + c]!;
    }
  }
}
