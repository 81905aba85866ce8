/** sparq: kernels for compressed neural networks. */
export { nativeMemory, NativeObject, type NativeMemory } from './handle';
export { cpuInfo, isa, pinning, PINNINGS, setIsa, setPinning, setThreads, threads, TIERS, type CpuInfo, type Pinning, type Tier } from './runtime';
export {
  activationRange,
  gemmS8S8,
  gemmS8S8Async,
  gemmU8S8,
  gemmU8S8Async,
  lastInt8GemmKernel,
  lastLinearInt8Kernel,
  LinearInt8,
  linearInt8,
  linearInt8Async,
  packInt8,
  PackedInt8Matrix,
  quantizeActivationsU8,
  quantizeLinearInt8,
  type ActivationRange,
  type GemmOptions,
  type GemmU8S8Options,
  type LinearOptions,
  type QuantizeLinearInt8Options,
  type QuantizedActivations,
} from './gemm';
export {
  dequantizeRow,
  f16ToF32,
  f32ToF16,
  lastQuantKernel,
  matmulQuantized,
  matmulQuantizedAsync,
  quantize,
  QuantizedMatrix,
  quantizeRow,
  quantizeActivationsQ8,
  type ActivationsQ8,
  type BlockOptions,
  type DequantizeRowOptions,
  type MatmulQuantizedOptions,
  type QuantizeRowOptions,
} from './quant';
export {
  CsrMatrix,
  lastSparseKernel,
  linearSparse,
  linearSparseAsync,
  spmm,
  spmmAsync,
  spmv,
  spmvAsync,
  type CsrBuildOptions,
  type FromArraysOptions,
  type FromDenseOptions,
  type IndexBits,
  type LinearSparseOptions,
  type SparseOptions,
  type SparseValueType,
} from './sparse';
export { ClusteredMatrix, clusterAssign, lastClusterKernel, matmulClustered, matmulClusteredAsync, type ClusterLayout, type MatmulClusteredOptions } from './cluster';
export {
  gemmF32,
  gemmF32Async,
  lastF32GemmKernel,
  linearF32,
  linearF32Async,
  packF32,
  PackedF32Matrix,
  type GemmF32Options,
  type LinearF32Options,
} from './dense';
export { blockBytes, defaultBlockSize, QUANT_FORMATS, type Precision, type QuantFormat } from './formats';
export { MAX_K } from './validate';
import * as reference from './reference/index';
export { reference };
export {
  Linear,
  LINEAR_FORMATS,
  totalByteLength,
  type ForwardOptions,
  type FromWeightsOptions,
  type LinearForm,
  type LinearFormat,
  type WrapOptions,
} from './nn/linear';
/** The transformer ops beside the matmuls (layer norm, softmax, activations, attention, …), native per tier. */
export { LowRankLinear, type FactorOptions } from './nn/lowrank';
export * as ops from './nn/ops';
export { lastOpsKernel, UNARY_OPS, type UnaryOp } from './nn/ops';
export {
  emptyProfile,
  loadUseLite,
  UseLite,
  USE_LITE_LAYERS,
  type EmbedProfile,
  type LayerChoice,
  type LayerFormats,
  type LoadUseLiteOptions,
  type UseLiteLayer,
} from './models/use-lite/model';
export { emailText, readSpamAssassin, SPAM_PACKAGE, spamDirectory, type Email } from './data/spam';
export { UseTokenizer, type Vocabulary } from './models/use-lite/tokenizer';
export { openUseLite, saveUseLite } from './models/use-lite/file';
export { readUseLiteVocabulary, useLiteDirectory, USE_LITE_PACKAGE } from './models/use-lite/files';
export { readBrown, type BrownDocument } from './data/brown';
export {
  Evaluation,
  evaluate,
  measureSpeed,
  type Embedder,
  type EvaluationOptions,
  type EvaluationResult,
  type SpeedOptions,
  type SpeedRow,
} from './eval/evaluate';
export { LogisticProbe, type ProbeOptions } from './eval/probe';
export { magnitudeThreshold } from './nn/prune';
export { calibrate, Calibration, type CalibrateOptions, type LayerCalibration, type Traceable } from './compress/calibrate';
export { pruneWeights, reconstructionError, type PruneCriterion, type PruneOptions } from './compress/prune';
export { calibrationSentences, CALIBRATION_FROM } from './eval/evaluate';
export { gptqQuantize, type GptqFormat, type GptqOptions, type GptqResult } from './compress/gptq';
export { quantizeWeighted, type WeightedFormat, type WeightedOptions, type WeightedResult } from './compress/scales';
export { keepNeurons, neuronScores, type NeuronScoreOptions } from './compress/structured';
export {
  allocateFormats,
  layerSensitivity,
  type Allocation,
  type FormatChoice,
  type LayerSensitivity,
  type OutputTraceable,
  type SensitivityOptions,
} from './compress/mixed';
export { GRID_FORMATS, type GridFormat } from './compress/grids';
export { clusterWeights, kmeans, type ClusterOptions, type ClusterResult, type KMeansOptions, type KMeansResult } from './compress/cluster';
export { Student, trainStudent, type StudentData, type StudentTraining } from './compress/student';
export { cosineLoss, distillationLoss, mseLoss, type DistillationOptions, type LossResult } from './train/losses';
export { embeddingGatherBackward, layerNormBackward, linearBackward, meanPoolBackward, reluBackward, tanhBackward, type LinearGrads } from './train/backward';
export { adam, learningRate, sgd, type AdamOptions, type Optimizer, type Schedule } from './train/optim';
export { train, type TrainOptions, type TrainResult } from './train/trainer';
export { jacobiSvd, randomizedSvd, type RandomizedSvdOptions, type Svd } from './compress/svd';
export {
  breakEvenRank,
  chooseRank,
  decompose,
  energyByRank,
  factorsAt,
  LOW_RANK_METHODS,
  lowRankFactor,
  lowRankProduct,
  outputError,
  type Decomposition,
  type DecomposeOptions,
  type LowRankFactors,
  type LowRankMethod,
  type LowRankOptions,
  type RankOptions,
} from './compress/lowrank';
export {
  addToStats,
  chooseActivationRange,
  chooseRange,
  emptyStats,
  HISTOGRAM_BINS,
  RANGE_METHODS,
  type ActivationStats,
  type RangeMethod,
  type RangeOptions,
} from './compress/ranges';
export { checkRecipe, compress, type CompressOptions, type CompressResult, type LayerReport, type Recipe, type RecipeStep } from './compress/compress';
export {
  bufferSource,
  decodeTensor,
  GGML_TYPE_IDS,
  GGUF_DEFAULT_ALIGNMENT,
  ModelFile,
  openModel,
  parseGguf,
  parseModelHeader,
  parseSafetensors,
  SAFETENSORS_DTYPES,
  SAFETENSORS_MAX_HEADER,
  saveGguf,
  saveSafetensors,
  sniffFormat,
  TYPE_INFO,
  typeBytes,
  type ByteSource,
  type GgufArray,
  type GgufHeader,
  type GgufValue,
  type GgufValueType,
  type ModelFormat,
  type ModelHeader,
  type SafetensorsHeader,
  type SaveGgufOptions,
  type TensorData,
  type TensorInfo,
  type TensorType,
  type TypeInfo,
} from './io';
