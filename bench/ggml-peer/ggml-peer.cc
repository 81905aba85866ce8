// ggml as a built peer for the K-quant bench (kquant-suites.js): Y = X·Wᵀ by ggml's own CPU backend,
// from the prebuilt ggml that node-llama-cpp ships (npm @node-llama-cpp/linux-x64, llama.cpp
// release v0.4.0). The functions are declared here (the package ships libraries, not headers);
// their signatures are ggml's public API (ggml.h, ggml-backend.h, ggml-alloc.h).
//
//   ggml-peer <bins dir> <ggml type id> <m> <n> <k> <threads> <calls> <weights> <x> <y out> <plain|repack>
//
// W is the raw ggml blocks of [n×k] (the bytes sparq multiplies), X f32 [m×k]. With "repack", W
// lives in the CPU backend's extra buffer type (CPU_REPACK), where ggml re-lays supported types
// for its fastest kernels (q4_K among them on AVX2/AVX-512); "plain" uses the default buffer.
// Writes Y [m×n] after the first call, then times `calls` more; prints one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

extern "C" {
struct ggml_context;
struct ggml_tensor;
struct ggml_cgraph;
struct ggml_backend;
struct ggml_backend_reg;
struct ggml_backend_device;
struct ggml_backend_buffer_type;
struct ggml_backend_buffer;
struct ggml_gallocr;
struct ggml_init_params {
  size_t mem_size;
  void* mem_buffer;
  bool no_alloc;
};
ggml_context* ggml_init(ggml_init_params params);
void ggml_free(ggml_context* ctx);
size_t ggml_tensor_overhead(void);
size_t ggml_graph_overhead(void);
ggml_tensor* ggml_new_tensor_2d(ggml_context* ctx, int type, int64_t ne0, int64_t ne1);
ggml_tensor* ggml_mul_mat(ggml_context* ctx, ggml_tensor* a, ggml_tensor* b);
ggml_cgraph* ggml_new_graph(ggml_context* ctx);
void ggml_build_forward_expand(ggml_cgraph* graph, ggml_tensor* tensor);
size_t ggml_nbytes(const ggml_tensor* tensor);
void ggml_backend_load_all_from_path(const char* dir);
ggml_backend_reg* ggml_backend_reg_by_name(const char* name);
ggml_backend_device* ggml_backend_reg_dev_get(ggml_backend_reg* reg, size_t index);
void* ggml_backend_reg_get_proc_address(ggml_backend_reg* reg, const char* name);
ggml_backend* ggml_backend_dev_init(ggml_backend_device* device, const char* params);
const char* ggml_backend_dev_description(ggml_backend_device* device);
ggml_backend_buffer_type* ggml_backend_get_default_buffer_type(ggml_backend* backend);
ggml_backend_buffer* ggml_backend_alloc_ctx_tensors_from_buft(ggml_context* ctx, ggml_backend_buffer_type* buft);
void ggml_backend_tensor_set(ggml_tensor* tensor, const void* data, size_t offset, size_t size);
void ggml_backend_tensor_get(const ggml_tensor* tensor, void* data, size_t offset, size_t size);
int ggml_backend_graph_compute(ggml_backend* backend, ggml_cgraph* graph);
const char* ggml_backend_buft_name(ggml_backend_buffer_type* buft);
ggml_gallocr* ggml_gallocr_new(ggml_backend_buffer_type* buft);
bool ggml_gallocr_alloc_graph(ggml_gallocr* galloc, ggml_cgraph* graph);
void ggml_gallocr_free(ggml_gallocr* galloc);
void ggml_backend_buffer_free(ggml_backend_buffer* buffer);
void ggml_backend_free(ggml_backend* backend);
}

namespace {

constexpr int kTypeF32 = 0;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "ggml-peer: %s\n", why.c_str());
  std::exit(1);
}

std::vector<char> readAll(const char* path, size_t expected) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() != expected) die(std::string(path) + ": expected " + std::to_string(expected) + " bytes, read " + std::to_string(bytes.size()));
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 12) die("usage: ggml-peer <bins> <type> <m> <n> <k> <threads> <calls> <weights> <x> <y out> <plain|repack>");
  const int type = std::atoi(argv[2]);
  const int64_t m = std::atoll(argv[3]), n = std::atoll(argv[4]), k = std::atoll(argv[5]);
  const int threads = std::atoi(argv[6]), calls = std::atoi(argv[7]);
  const bool repack = std::strcmp(argv[11], "repack") == 0;

  ggml_backend_load_all_from_path(argv[1]);
  ggml_backend_reg* reg = ggml_backend_reg_by_name("CPU");
  if (!reg) die("no CPU backend loaded from " + std::string(argv[1]));
  ggml_backend_device* dev = ggml_backend_reg_dev_get(reg, 0);
  ggml_backend* backend = ggml_backend_dev_init(dev, nullptr);
  using SetThreads = void (*)(ggml_backend*, int);
  auto setThreads = reinterpret_cast<SetThreads>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads"));
  if (!setThreads) die("the CPU backend has no ggml_backend_set_n_threads");
  setThreads(backend, threads);

  ggml_backend_buffer_type* weightBuft = ggml_backend_get_default_buffer_type(backend);
  if (repack) {
    using ExtraBufts = ggml_backend_buffer_type** (*)(ggml_backend_device*);
    auto extra = reinterpret_cast<ExtraBufts>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts"));
    weightBuft = nullptr;
    for (ggml_backend_buffer_type** b = extra ? extra(dev) : nullptr; b && *b; b++)
      if (std::strcmp(ggml_backend_buft_name(*b), "CPU_REPACK") == 0) weightBuft = *b;
    if (!weightBuft) die("this ggml build has no CPU_REPACK buffer type");
  }

  ggml_init_params params{ggml_tensor_overhead() * 4, nullptr, true};
  ggml_context* data = ggml_init(params);
  ggml_tensor* w = ggml_new_tensor_2d(data, type, k, n);
  ggml_context* inputs = ggml_init(params);
  ggml_tensor* x = ggml_new_tensor_2d(inputs, kTypeF32, k, m);
  ggml_backend_buffer* wBuffer = ggml_backend_alloc_ctx_tensors_from_buft(data, weightBuft);
  ggml_backend_buffer* xBuffer = ggml_backend_alloc_ctx_tensors_from_buft(inputs, ggml_backend_get_default_buffer_type(backend));
  if (!wBuffer || !xBuffer) die("allocation failed");
  const std::vector<char> wBytes = readAll(argv[8], ggml_nbytes(w));
  const std::vector<char> xBytes = readAll(argv[9], size_t(m * k * 4));
  ggml_backend_tensor_set(w, wBytes.data(), 0, wBytes.size());
  ggml_backend_tensor_set(x, xBytes.data(), 0, xBytes.size());

  ggml_init_params graphParams{ggml_tensor_overhead() * 16 + ggml_graph_overhead(), nullptr, true};
  ggml_context* graphCtx = ggml_init(graphParams);
  ggml_tensor* y = ggml_mul_mat(graphCtx, w, x);
  ggml_cgraph* graph = ggml_new_graph(graphCtx);
  ggml_build_forward_expand(graph, y);
  ggml_gallocr* galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(backend));
  if (!ggml_gallocr_alloc_graph(galloc, graph)) die("graph allocation failed");

  if (ggml_backend_graph_compute(backend, graph) != 0) die("compute failed");
  std::vector<float> out(size_t(m * n));
  ggml_backend_tensor_get(y, out.data(), 0, out.size() * 4);
  std::ofstream(argv[10], std::ios::binary).write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size() * 4));

  std::vector<double> us;
  for (int c = 0; c < calls; c++) {
    const auto t0 = std::chrono::steady_clock::now();
    ggml_backend_graph_compute(backend, graph);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("{\"device\":\"%s\",\"buffer\":\"%s\",\"us\":[", ggml_backend_dev_description(dev), ggml_backend_buft_name(weightBuft));
  for (size_t i = 0; i < us.size(); i++) std::printf("%s%.2f", i ? "," : "", us[i]);
  std::printf("]}\n");

  ggml_gallocr_free(galloc);
  ggml_free(graphCtx);
  ggml_backend_buffer_free(wBuffer);
  ggml_backend_buffer_free(xBuffer);
  ggml_free(data);
  ggml_free(inputs);
  ggml_backend_free(backend);
  return 0;
}
