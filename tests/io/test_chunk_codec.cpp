// io::shuffle_bytes and io::deflate_chunk (engine/io/chunk_codec.hpp): the shuffle of HDF5's
// filter, and chunks stored byte for byte as HDF5's own [shuffle, deflate] pipeline stores them.
#include <H5Cpp.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/chunk_codec.hpp"

namespace fs = std::filesystem;

TEST_CASE("shuffle_bytes: byte planes of whole elements, trailing bytes as they are") {
  // Three 4-byte elements and two trailing bytes.
  const std::vector<std::uint8_t> in = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  std::vector<std::uint8_t> out(in.size());
  sbx::io::shuffle_bytes(in.data(), out.data(), in.size(), 4);
  CHECK(out == std::vector<std::uint8_t>{1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12, 13, 14});
  // One element, or one-byte elements: unchanged (HDF5 leaves them alone).
  sbx::io::shuffle_bytes(in.data(), out.data(), 8, 8);
  CHECK(std::memcmp(out.data(), in.data(), 8) == 0);
  sbx::io::shuffle_bytes(in.data(), out.data(), in.size(), 1);
  CHECK(out == in);
}

namespace {

// The stored bytes of chunk `index` of a 1-D dataset.
std::vector<std::uint8_t> stored_chunk(const H5::DataSet& ds, hsize_t offset) {
  hsize_t size = 0;
  REQUIRE(H5Dget_chunk_storage_size(ds.getId(), &offset, &size) >= 0);
  std::vector<std::uint8_t> bytes(size);
  std::uint32_t mask = 99;
  REQUIRE(H5Dread_chunk(ds.getId(), H5P_DEFAULT, &offset, &mask, bytes.data()) >= 0);
  CHECK(mask == 0);  // every filter applied
  return bytes;
}

}  // namespace

TEST_CASE("deflate_chunk: the bytes HDF5's shuffle + deflate store, on any thread") {
  const fs::path path =
      fs::temp_directory_path() / ("sbx_chunk_codec_" + std::to_string(::getpid()) + ".h5");
  constexpr hsize_t chunk = 4096, n = 2 * chunk + 1000;  // two whole chunks, one partial
  std::vector<std::uint64_t> values(3 * chunk, 0);       // (the partial chunk padded with 0)
  for (hsize_t i = 0; i < n; ++i) values[i] = (i * 2654435761u) % 100003u + (i / 7) * (1u << 20);
  for (const int level : {1, 6}) {
    CAPTURE(level);
    {
      // HDF5 filters the data itself.
      H5::H5File f(path.string(), H5F_ACC_TRUNC);
      H5::DSetCreatPropList plist;
      plist.setChunk(1, &chunk);
      plist.setShuffle();
      plist.setDeflate(level);
      H5::DataSet ds = f.createDataSet("x", H5::PredType::STD_U64LE, H5::DataSpace(1, &n), plist);
      ds.write(values.data(), H5::PredType::NATIVE_UINT64);
    }
    H5::H5File f(path.string(), H5F_ACC_RDONLY);
    const H5::DataSet ds = f.openDataSet("x");
    std::vector<std::uint8_t> bytes[3];
    for (hsize_t c = 0; c < 3; ++c) {
      CAPTURE(c);
      sbx::io::deflate_chunk(values.data() + c * chunk, chunk * 8, 8, level, bytes[c]);
      CHECK(bytes[c] == stored_chunk(ds, c * chunk));
      CHECK(bytes[c].size() < chunk * 8);  // compressed
    }
    // The same chunks made on three threads at once (per-thread shuffle buffers).
    std::vector<std::uint8_t> again[3];
    {
      std::vector<std::thread> threads;
      for (hsize_t c = 0; c < 3; ++c)
        threads.emplace_back([&, c] {
          for (int r = 0; r < 20; ++r)
            sbx::io::deflate_chunk(values.data() + c * chunk, chunk * 8, 8, level, again[c]);
        });
      for (auto& t : threads) t.join();
    }
    for (hsize_t c = 0; c < 3; ++c) CHECK(again[c] == bytes[c]);
  }
  std::vector<std::uint8_t> out;
  CHECK_THROWS_AS(sbx::io::deflate_chunk(values.data(), 8, 8, 0, out), std::invalid_argument);
  CHECK_THROWS_AS(sbx::io::deflate_chunk(values.data(), 8, 8, 10, out), std::invalid_argument);
  std::error_code ec;
  fs::remove(path, ec);
}
