'use strict';
// Seeded operands and the checks run before timing.

const { CONFIG } = require('./config');

// ---------------------------------------------------------------------------
// Data

/** Seeded xorshift32 bytes, viewed as the given byte-array type. */
function randomBytes(Type, length, seed) {
  const words = new Uint32Array(Math.ceil(length / 4));
  let s = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  return new Type(words.buffer, 0, length);
}

/** Seeded uniform floats in [lo, hi). */
function randomFloats(length, seed, lo, hi) {
  const words = new Uint32Array(randomBytes(Uint8Array, length * 4, seed).buffer, 0, length);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = lo + ((hi - lo) * words[i]) / 2 ** 32;
  return out;
}

/** Seeded normal floats N(0, sigma²) (Box–Muller). */
function randomGaussian(length, seed, sigma = 1) {
  const words = new Uint32Array(randomBytes(Uint8Array, length * 8, seed).buffer, 0, length * 2);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const u1 = (words[2 * i] + 1) / 2 ** 32; // (0, 1]: the log stays finite
    const u2 = words[2 * i + 1] / 2 ** 32;
    out[i] = sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}

/** [rows×cols] → [cols×rows]. sparq takes B as [n×k]; ONNX MatMul wants [k×n]. */
function transpose(src, rows, cols) {
  const dst = new src.constructor(src.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
  }
  return dst;
}

/** The plain JS triple loop: C[m×n] = (A − za)·Bᵀ, B [n×k]. */
function jsGemmU8S8(a, b, m, n, k, za, c) {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += (a[i * k + p] - za) * b[j * k + p];
      c[i * n + j] = acc;
    }
  }
  return c;
}

/** Rows of A the JS rows time: all of them, or as many as fit the ops budget. */
function jsRows(m, n, k) {
  return Math.max(1, Math.min(m, Math.floor(CONFIG.jsOpsBudget / (2 * n * k))));
}

// ---------------------------------------------------------------------------
// Checks (before timing)

/** 'exact' when a equals b over the first `length` values, else where and by how much they differ. */
function compareInts(a, b, length, n) {
  let mismatches = 0;
  let first = -1;
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) {
      if (first < 0) first = i;
      mismatches++;
    }
  }
  if (mismatches === 0) return { ok: true, text: 'exact' };
  const at = `[${Math.floor(first / n)},${first % n}]`;
  return { ok: false, text: `${mismatches} of ${length} differ, first at ${at}: ${a[first]} vs ${b[first]}` };
}

/** max |a − b| / max |b|: the error relative to the output's magnitude. */
function relativeDifference(a, b, length) {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

function check(label, result) {
  console.log(`  check  ${label}: ${result}`);
}

module.exports = { check, compareInts, jsGemmU8S8, jsRows, randomBytes, randomFloats, randomGaussian, relativeDifference, transpose };
