// A file mapped read-only, for adopting tensor bytes without copying them (DESIGN.md §8).
// Plain C++, no Node-API.
//
// The mapping is followed by at least one readable zero page, so a kernel that over-reads the
// tail of a tensor at the very end of the file (as kernels may over-read a QuantizedMatrix's last
// row) reads zeros, never unmapped memory. Objects that adopt bytes hold a shared_ptr to the
// MappedFile, so it is unmapped only when the last of them goes.
//
// A file truncated by another process while it is mapped makes reads of the lost pages fault
// (SIGBUS); that is the nature of mapped files and is documented in docs/files.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sparq {

class MappedFile {
 public:
  // Maps `path` read-only. On failure returns null and sets *error to a sentence naming the cause
  // (errno text: "No such file or directory", "not a regular file", ...).
  static std::shared_ptr<MappedFile> open(const std::string& path, std::string* error);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return base_; }
  size_t size() const { return size_; }
  // Whether [offset, offset + length) lies inside the file.
  bool contains(uint64_t offset, uint64_t length) const { return offset <= size_ && length <= size_ - offset; }

 private:
  MappedFile(uint8_t* base, size_t size, size_t span) : base_(base), size_(size), span_(span) {}
  uint8_t* base_;
  size_t size_;
  size_t span_;  // bytes reserved: the file rounded up to pages, plus the zero page
};

}  // namespace sparq
