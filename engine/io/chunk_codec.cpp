#include "engine/io/chunk_codec.hpp"

#include <zlib.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace sbx::io {

void shuffle_bytes(const std::uint8_t* in, std::uint8_t* out, std::size_t nbytes,
                   std::size_t elem_size) {
  const std::size_t count = elem_size > 0 ? nbytes / elem_size : 0;
  if (elem_size <= 1 || count <= 1) {
    std::memcpy(out, in, nbytes);
    return;
  }
  for (std::size_t j = 0; j < elem_size; ++j) {
    std::uint8_t* plane = out + j * count;
    for (std::size_t i = 0; i < count; ++i) plane[i] = in[i * elem_size + j];
  }
  const std::size_t done = count * elem_size;
  std::memcpy(out + done, in + done, nbytes - done);
}

void deflate_chunk(const void* raw, std::size_t nbytes, std::size_t elem_size, int level,
                   std::vector<std::uint8_t>& out) {
  if (level < 1 || level > 9)
    throw std::invalid_argument("deflate_chunk: level " + std::to_string(level) + " (1-9)");
  thread_local std::vector<std::uint8_t> shuffled;
  shuffled.resize(nbytes);
  shuffle_bytes(static_cast<const std::uint8_t*>(raw), shuffled.data(), nbytes, elem_size);
  // As H5Zdeflate.c: a compressBound buffer, so compress2 cannot run out of room (a chunk that
  // does not shrink is stored slightly larger, as HDF5 stores it).
  uLongf size = compressBound(static_cast<uLong>(nbytes));
  out.resize(size);
  if (compress2(out.data(), &size, shuffled.data(), static_cast<uLong>(nbytes), level) != Z_OK)
    throw std::runtime_error("deflate of a run-file chunk failed");
  out.resize(size);
}

}  // namespace sbx::io
