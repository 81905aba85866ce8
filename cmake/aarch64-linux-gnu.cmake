# Cross-compiling for 64-bit ARM Linux with Debian's g++-aarch64-linux-gnu; binaries run under
# qemu-aarch64-static with the target's sysroot (-L /usr/aarch64-linux-gnu), see scripts/test-arm64.sh.
#   cmake -S . -B build-arm64-core -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(SPARQ_ARM64_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${SPARQ_ARM64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${SPARQ_ARM64_TRIPLE}-g++)

# Libraries and headers come from the target's sysroot; build tools from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${SPARQ_ARM64_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Lets CTest and try_run execute target binaries.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L /usr/${SPARQ_ARM64_TRIPLE})
