// MappedFile on POSIX: reserve the file's pages plus one as anonymous zero memory, then map the
// file over the start of that reservation, so one readable zero page always follows the data.
#include "sparq/mapped_file.h"

#include <cerrno>
#include <cstring>

#if defined(_WIN32)
namespace sparq {
std::shared_ptr<MappedFile> MappedFile::open(const std::string&, std::string* error) {
  *error = "mapping files is not supported on Windows yet";
  return nullptr;
}
MappedFile::~MappedFile() {}
}  // namespace sparq
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sparq {

namespace {

std::string errnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = errnoText("cannot open");
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *error = errnoText("cannot stat");
    ::close(fd);
    return nullptr;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = "not a regular file";
    ::close(fd);
    return nullptr;
  }
  const size_t size = size_t(st.st_size);
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t span = (size + page - 1) / page * page + page;
  void* base = mmap(nullptr, span, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    *error = errnoText("cannot reserve address space");
    ::close(fd);
    return nullptr;
  }
  if (size > 0 && mmap(base, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
    *error = errnoText("cannot map");
    munmap(base, span);
    ::close(fd);
    return nullptr;
  }
  ::close(fd);  // the mapping keeps the file's pages
  return std::shared_ptr<MappedFile>(new MappedFile(static_cast<uint8_t*>(base), size, span));
}

MappedFile::~MappedFile() { munmap(base_, span_); }

}  // namespace sparq
#endif
