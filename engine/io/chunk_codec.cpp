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

ChunkEncoder::ChunkEncoder(int level) : level_(level) {
  if (level < 1 || level > 9)
    throw std::invalid_argument("ChunkEncoder: deflate level " + std::to_string(level) + " (1-9)");
}

std::span<const std::uint8_t> ChunkEncoder::encode(const void* raw, std::size_t nbytes,
                                                   std::size_t elem_size) {
  const auto* in = static_cast<const std::uint8_t*>(raw);
  if (deflated_size_ > 0 && elem_size == elem_size_ && nbytes == last_raw_.size() &&
      std::memcmp(in, last_raw_.data(), nbytes) == 0) {
    ++reused_;
    return {deflated_.data(), deflated_size_};
  }
  shuffled_.resize(nbytes);
  shuffle_bytes(in, shuffled_.data(), nbytes, elem_size);
  // As H5Zdeflate.c: a compressBound buffer, so compress2 cannot run out of room (a chunk that
  // does not shrink is stored slightly larger, as HDF5 stores it).
  uLongf size = compressBound(static_cast<uLong>(nbytes));
  deflated_.resize(size);
  if (compress2(deflated_.data(), &size, shuffled_.data(), static_cast<uLong>(nbytes), level_) !=
      Z_OK)
    throw std::runtime_error("deflate of a run-file chunk failed");
  deflated_size_ = size;
  last_raw_.assign(in, in + nbytes);
  elem_size_ = elem_size;
  ++compressed_;
  return {deflated_.data(), deflated_size_};
}

}  // namespace sbx::io
