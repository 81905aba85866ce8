// Thread-local scratch buffers, counted (sparq/scratch.h).
#include "sparq/scratch.h"

#include <cstdlib>
#include <new>

namespace sparq {

Scratch::~Scratch() { release(); }

void* Scratch::get(size_t bytes) {
  bytes = (bytes + 127) / 64 * 64;
  if (bytes > capacity_) {
    release();
    data_ = std::aligned_alloc(64, bytes);
    if (!data_) throw std::bad_alloc();
    capacity_ = bytes;
    noteScratchBytes(int64_t(bytes));
  }
  return data_;
}

void Scratch::release() {
  std::free(data_);
  data_ = nullptr;
  noteScratchBytes(-int64_t(capacity_));
  capacity_ = 0;
}

}  // namespace sparq
