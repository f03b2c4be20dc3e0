// Whole chunks for H5Dwrite_chunk: the bytes HDF5's filter pipeline [shuffle, deflate] stores,
// made here so that a chunk equal to the column's previous one is not compressed again.
//
// Why: writing /edges was most of a large network's start-up — at 8·10⁶ synapses
// (bench/scaling_cuba.toml with 10⁵ cells) zlib was 53 % of the whole process and HDF5's shuffle
// and chunk handling 11 % (perf, BENCHMARKS.md "Session 16"), and most edge columns repeat the
// same chunk: edge_type_id and edge_group_id are all 0, and weights and delays are often one value
// per connection. HDF5 compresses every chunk anyway. The shuffle and the compress2 call are the
// ones of HDF5's own filters (H5Zshuffle.c, H5Zdeflate.c), so the stored bytes are the same as
// HDF5 would store, and every reader reads them as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sbx::io {

// HDF5's shuffle filter (H5Z_FILTER_SHUFFLE) on `nbytes` bytes of elements of `elem_size` bytes:
// byte j of element i goes to j·count + i (count = nbytes / elem_size); trailing bytes that do not
// fill an element are copied as they are. With elem_size ≤ 1 or fewer than two elements the
// bytes are copied unchanged, as HDF5 does.
void shuffle_bytes(const std::uint8_t* in, std::uint8_t* out, std::size_t nbytes,
                   std::size_t elem_size);

// Encodes the chunks of one dataset whose pipeline is shuffle then deflate, in order; remembers
// the last chunk so that an identical next one costs a comparison. Not shareable across threads.
class ChunkEncoder {
 public:
  // level: the deflate level of the dataset (H5Pset_deflate), 1–9.
  explicit ChunkEncoder(int level);

  // The stored bytes of one whole chunk (`raw`: its elements in the file's type, the last chunk
  // padded to full size). Valid until the next call.
  std::span<const std::uint8_t> encode(const void* raw, std::size_t nbytes, std::size_t elem_size);

  std::size_t chunks_compressed() const { return compressed_; }
  std::size_t chunks_reused() const { return reused_; }

 private:
  int level_;
  std::size_t elem_size_ = 0;
  std::vector<std::uint8_t> last_raw_, shuffled_, deflated_;
  std::size_t deflated_size_ = 0;
  std::size_t compressed_ = 0, reused_ = 0;
};

}  // namespace sbx::io
