// Whole chunks for H5Dwrite_chunk: the bytes HDF5's filter pipeline [shuffle, deflate] stores,
// made by the run file itself so that they can be made on several threads, and skipped for an
// edge-table chunk equal to the one before it (engine/io/run_file.cpp: ColumnWriter,
// SpikeColumn).
//
// Why: writing /edges was most of a large network's start-up — at 8·10⁶ synapses
// (bench/scaling_cuba.toml with 10⁵ cells) zlib was 53 % of the whole process and HDF5's shuffle
// and chunk handling 11 % (perf, BENCHMARKS.md "Session 16") — and a two-thread run compressed
// its spikes on one thread while the other waited. The shuffle and the compress2 call are the
// ones of HDF5's own filters (H5Zshuffle.c, H5Zdeflate.c), so the stored bytes are the same as
// HDF5 would store, and every reader reads them as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sbx::io {

// HDF5's shuffle filter (H5Z_FILTER_SHUFFLE) on `nbytes` bytes of elements of `elem_size` bytes:
// byte j of element i goes to j·count + i (count = nbytes / elem_size); trailing bytes that do not
// fill an element are copied as they are. With elem_size ≤ 1 or fewer than two elements the
// bytes are copied unchanged, as HDF5 does.
void shuffle_bytes(const std::uint8_t* in, std::uint8_t* out, std::size_t nbytes,
                   std::size_t elem_size);

// The stored bytes of one whole chunk (`raw`: its elements in the file's type, the last chunk
// padded to full size) of a dataset whose pipeline is shuffle then deflate at `level` (1–9),
// into `out`. Thread-safe (the shuffle buffer is per thread).
void deflate_chunk(const void* raw, std::size_t nbytes, std::size_t elem_size, int level,
                   std::vector<std::uint8_t>& out);

}  // namespace sbx::io
