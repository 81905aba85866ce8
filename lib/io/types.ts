/**
 * Tensor element types of model files, in one namespace (ggml's spellings, lowercase): the
 * safetensors dtypes map onto it (F32 → 'f32', BOOL → 'bool', F8_E4M3 → 'f8_e4m3'), GGUF's ggml
 * type ids too (8 → 'q8_0', 12 → 'q4_K'). A type is `block` elements stored in `bytes` bytes; plain
 * element types have block 1.
 */

export type TensorType =
  | 'f64' | 'f32' | 'f16' | 'bf16' | 'f8_e4m3' | 'f8_e5m2'
  | 'i64' | 'i32' | 'i16' | 'i8' | 'u64' | 'u32' | 'u16' | 'u8' | 'bool'
  | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q8_0' | 'q8_1'
  | 'q2_K' | 'q3_K' | 'q4_K' | 'q5_K' | 'q6_K' | 'q8_K'
  | 'iq2_xxs' | 'iq2_xs' | 'iq3_xxs' | 'iq1_s' | 'iq4_nl' | 'iq3_s' | 'iq2_s' | 'iq4_xs' | 'iq1_m'
  | 'tq1_0' | 'tq2_0' | 'mxfp4' | 'nvfp4' | 'q1_0' | 'q2_0';

export interface TypeInfo {
  /** Elements per block (1 for plain element types). */
  block: number;
  /** Bytes per block. */
  bytes: number;
}

/** Block geometry of every type (ggml's type traits; safetensors element sizes). */
export const TYPE_INFO: Readonly<Record<TensorType, TypeInfo>> = Object.freeze({
  f64: { block: 1, bytes: 8 }, f32: { block: 1, bytes: 4 }, f16: { block: 1, bytes: 2 }, bf16: { block: 1, bytes: 2 },
  f8_e4m3: { block: 1, bytes: 1 }, f8_e5m2: { block: 1, bytes: 1 },
  i64: { block: 1, bytes: 8 }, i32: { block: 1, bytes: 4 }, i16: { block: 1, bytes: 2 }, i8: { block: 1, bytes: 1 },
  u64: { block: 1, bytes: 8 }, u32: { block: 1, bytes: 4 }, u16: { block: 1, bytes: 2 }, u8: { block: 1, bytes: 1 }, bool: { block: 1, bytes: 1 },
  q4_0: { block: 32, bytes: 18 }, q4_1: { block: 32, bytes: 20 }, q5_0: { block: 32, bytes: 22 }, q5_1: { block: 32, bytes: 24 },
  q8_0: { block: 32, bytes: 34 }, q8_1: { block: 32, bytes: 36 },
  q2_K: { block: 256, bytes: 84 }, q3_K: { block: 256, bytes: 110 }, q4_K: { block: 256, bytes: 144 },
  q5_K: { block: 256, bytes: 176 }, q6_K: { block: 256, bytes: 210 }, q8_K: { block: 256, bytes: 292 },
  iq2_xxs: { block: 256, bytes: 66 }, iq2_xs: { block: 256, bytes: 74 }, iq3_xxs: { block: 256, bytes: 98 },
  iq1_s: { block: 256, bytes: 50 }, iq4_nl: { block: 32, bytes: 18 }, iq3_s: { block: 256, bytes: 110 },
  iq2_s: { block: 256, bytes: 82 }, iq4_xs: { block: 256, bytes: 136 }, iq1_m: { block: 256, bytes: 56 },
  tq1_0: { block: 256, bytes: 54 }, tq2_0: { block: 256, bytes: 66 }, mxfp4: { block: 32, bytes: 17 },
  nvfp4: { block: 64, bytes: 36 }, q1_0: { block: 128, bytes: 18 }, q2_0: { block: 64, bytes: 18 },
});

/** ggml's type ids (enum ggml_type) as GGUF stores them; gaps are ids ggml removed. */
export const GGML_TYPE_IDS: Readonly<Partial<Record<TensorType, number>>> = Object.freeze({
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q5_0: 6, q5_1: 7, q8_0: 8, q8_1: 9, q2_K: 10, q3_K: 11, q4_K: 12, q5_K: 13,
  q6_K: 14, q8_K: 15, iq2_xxs: 16, iq2_xs: 17, iq3_xxs: 18, iq1_s: 19, iq4_nl: 20, iq3_s: 21, iq2_s: 22, iq4_xs: 23,
  i8: 24, i16: 25, i32: 26, i64: 27, f64: 28, iq1_m: 29, bf16: 30, tq1_0: 34, tq2_0: 35, mxfp4: 39, nvfp4: 40,
  q1_0: 41, q2_0: 42,
});

export const GGML_TYPES_BY_ID: ReadonlyMap<number, TensorType> = new Map(
  Object.entries(GGML_TYPE_IDS).map(([name, id]) => [id, name as TensorType]),
);

/** safetensors dtype strings and the types they are. */
export const SAFETENSORS_DTYPES: ReadonlyMap<string, TensorType> = new Map<string, TensorType>([
  ['F64', 'f64'], ['F32', 'f32'], ['F16', 'f16'], ['BF16', 'bf16'], ['F8_E4M3', 'f8_e4m3'], ['F8_E5M2', 'f8_e5m2'],
  ['I64', 'i64'], ['I32', 'i32'], ['I16', 'i16'], ['I8', 'i8'], ['U64', 'u64'], ['U32', 'u32'], ['U16', 'u16'],
  ['U8', 'u8'], ['BOOL', 'bool'],
]);

export const SAFETENSORS_NAMES: ReadonlyMap<TensorType, string> = new Map(
  [...SAFETENSORS_DTYPES].map(([name, type]) => [type, name]),
);

/** Bytes of `elements` elements of `type`, or null when elements is not a whole number of blocks. */
export function typeBytes(type: TensorType, elements: number): number | null {
  const { block, bytes } = TYPE_INFO[type];
  return elements % block === 0 ? (elements / block) * bytes : null;
}
