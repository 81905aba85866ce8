/** Rounding and f32 helpers shared by the references. */

/** Round half to even (C `nearbyint` in the default mode, x86 `cvtps2dq`). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // halves go up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Round half away from zero (C `roundf`). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export const f32 = Math.fround;
