// io::shuffle_bytes and io::ChunkEncoder (engine/io/chunk_codec.hpp): the shuffle of HDF5's
// filter, and chunks stored byte for byte as HDF5's own [shuffle, deflate] pipeline stores them.
#include <H5Cpp.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
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

TEST_CASE("ChunkEncoder: the bytes HDF5's shuffle + deflate store, an equal next chunk reused") {
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
    sbx::io::ChunkEncoder enc(level);
    for (hsize_t c = 0; c < 3; ++c) {
      CAPTURE(c);
      const auto bytes = enc.encode(values.data() + c * chunk, chunk * 8, 8);
      CHECK(std::vector<std::uint8_t>(bytes.begin(), bytes.end()) == stored_chunk(ds, c * chunk));
      CHECK(bytes.size() < chunk * 8);  // compressed
    }
    CHECK(enc.chunks_compressed() == 3);
    CHECK(enc.chunks_reused() == 0);
    // The same chunk again: the stored bytes of the last one, without compressing.
    const std::vector<std::uint64_t> last(values.begin() + 2 * chunk, values.end());
    const auto again = enc.encode(last.data(), chunk * 8, 8);
    CHECK(std::vector<std::uint8_t>(again.begin(), again.end()) == stored_chunk(ds, 2 * chunk));
    CHECK(enc.chunks_reused() == 1);
    // A chunk differing in one byte is compressed again.
    std::vector<std::uint64_t> changed = last;
    changed[17] ^= 1;
    const auto other = enc.encode(changed.data(), chunk * 8, 8);
    CHECK(std::vector<std::uint8_t>(other.begin(), other.end()) != stored_chunk(ds, 2 * chunk));
    CHECK(enc.chunks_compressed() == 4);
  }
  CHECK_THROWS_AS(sbx::io::ChunkEncoder(0), std::invalid_argument);
  CHECK_THROWS_AS(sbx::io::ChunkEncoder(10), std::invalid_argument);
  std::error_code ec;
  fs::remove(path, ec);
}
