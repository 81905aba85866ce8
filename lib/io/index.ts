/** Model files: safetensors and GGUF, read (memory-mapped) and written. See docs/files.md. */
export { bufferSource, type ByteSource } from './bytes';
export { decodeTensor } from './decode';
export { GGUF_DEFAULT_ALIGNMENT, parseGguf, saveGguf, type GgufArray, type GgufHeader, type GgufValue, type GgufValueType, type SaveGgufOptions } from './gguf';
export { ModelFile, openModel, parseModelHeader, sniffFormat, type ModelFormat, type ModelHeader } from './model-file';
export { parseSafetensors, saveSafetensors, SAFETENSORS_MAX_HEADER, type SafetensorsHeader } from './safetensors';
export type { TensorData, TensorInfo } from './tensor';
export { GGML_TYPE_IDS, SAFETENSORS_DTYPES, TYPE_INFO, typeBytes, type TensorType, type TypeInfo } from './types';
export { encodeTensor, ENCODABLE, f32ToBf16 } from './encode';
