// Thread-local scratch that outlives a call: a growable 64-byte aligned buffer that keeps its
// largest size, counted in scratchBytes() so the binding can report it to V8. Plain C++.
// Defined out of line in native/runtime/scratch.cc: an inline member included by an ISA-flagged
// kernel file could be compiled with that ISA's instructions and picked by the linker for all.
#pragma once
#include <cstddef>
#include <cstdint>

#include "sparq/runtime.h"

namespace sparq {

class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch();

  // At least `bytes` bytes (plus one spare vector for over-reads), 64-byte aligned. Throws
  // std::bad_alloc when they cannot be had; the buffer is then empty, never half-grown.
  void* get(size_t bytes);

 private:
  void release();

  void* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace sparq
