// RunFile::add_edges_streamed writes the same /edges/<edge> datasets as add_edges (types, shapes,
// chunking, filters, attributes, values), block by block.
#include <H5Cpp.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/run_file.hpp"

namespace fs = std::filesystem;
using H5::PredType;

namespace {

struct Columns {
  std::vector<std::uint64_t> src, tgt;
  std::vector<double> w, d;
};

// Deterministic columns: sources ascending (CSR rows), scattered targets, float-exact weights.
Columns make_columns(std::size_t n) {
  Columns c;
  for (std::size_t j = 0; j < n; ++j) {
    c.src.push_back(j / 7);
    c.tgt.push_back((j * 2654435761u) % 100003u);
    c.w.push_back(
        static_cast<double>(static_cast<float>(0.001 * static_cast<double>(j % 997) - 0.3)));
    c.d.push_back(0.1 * static_cast<double>(j % 5));
  }
  return c;
}

std::string write(const fs::path& path, const Columns& c, bool streamed, std::size_t block,
                  unsigned threads = 1) {
  sbx::RunFileOptions opt;
  opt.force = true;
  opt.threads = threads;
  sbx::RunFile rf(path.string(), sbx::TimeGrid{}, opt);
  rf.add_spike_population(0, "A", 1000000, "lif");
  if (streamed) {
    std::size_t next = 0;  // blocks must come in ascending order, without gaps
    rf.add_edges_streamed(
        "A__A", "A", "A", c.src.size(),
        [&](std::size_t first, std::size_t count, const sbx::RunFile::EdgeBlock& out) {
          CHECK(first == next);
          next = first + count;
          for (std::size_t k = 0; k < count; ++k) {
            out.src[k] = static_cast<std::uint32_t>(c.src[first + k]);
            out.tgt[k] = static_cast<std::uint32_t>(c.tgt[first + k]);
            out.w[k] = static_cast<float>(c.w[first + k]);
            out.delay_ms[k] = c.d[first + k];
          }
        },
        "none", block);
    CHECK(next == c.src.size());
  } else {
    rf.add_edges("A__A", "A", "A", c.src, c.tgt, c.w, c.d, "none", false);
  }
  rf.start();
  rf.finish({}, 0.0);
  return path.string();
}

struct Dataset {
  H5T_class_t cls;
  std::size_t size;  // bytes per element in the file
  std::vector<hsize_t> dims, chunk;
  int filters;
  hsize_t storage;  // stored bytes (the streamed chunks are made by io::deflate_chunk)
  std::vector<double> values;
};

Dataset read(const H5::H5File& f, const std::string& name) {
  H5::DataSet ds = f.openDataSet(name);
  Dataset d;
  d.cls = ds.getTypeClass();
  d.size = ds.getDataType().getSize();
  H5::DataSpace sp = ds.getSpace();
  d.dims.resize(1);
  sp.getSimpleExtentDims(d.dims.data());
  const H5::DSetCreatPropList pl = ds.getCreatePlist();
  if (pl.getLayout() == H5D_CHUNKED) {
    d.chunk.resize(1);
    pl.getChunk(1, d.chunk.data());
  }
  d.filters = pl.getNfilters();
  d.storage = ds.getStorageSize();
  d.values.resize(d.dims[0]);
  if (!d.values.empty()) ds.read(d.values.data(), PredType::NATIVE_DOUBLE);
  return d;
}

std::string str_attr(const H5::H5Object& o, const char* name) {
  H5::Attribute a = o.openAttribute(name);
  std::string s;
  a.read(a.getStrType(), s);
  return s;
}

}  // namespace

TEST_CASE("RunFile::add_edges_streamed writes the datasets add_edges writes") {
  const fs::path dir =
      fs::temp_directory_path() / ("sbx_io_edges_streamed_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // 70 001 rows: two 64-Ki chunks, the last one partial; blocks of 10 000 do not align with them.
  // 5000 rows: one whole chunk. 3 rows: a small contiguous dataset. 0 rows: an empty projection.
  for (const auto& [n, block] : {std::pair<std::size_t, std::size_t>{70001, 10000},
                                 {70001, 1 << 18},
                                 {5000, 4999},
                                 {3, 2},
                                 {0, 16}}) {
    CAPTURE(n);
    CAPTURE(block);
    const Columns c = make_columns(n);
    const std::string a = write(dir / "plain.h5", c, false, block);
    const std::string b = write(dir / "streamed.h5", c, true, block);
    // The columns compressed by 2 and by 8 threads (RunFileOptions::threads; at most one per
    // column is used).
    const std::string b2 = write(dir / "streamed2.h5", c, true, block, 2);
    const std::string b8 = write(dir / "streamed8.h5", c, true, block, 8);
    H5::H5File fa(a, H5F_ACC_RDONLY), fb(b, H5F_ACC_RDONLY), fb2(b2, H5F_ACC_RDONLY),
        fb8(b8, H5F_ACC_RDONLY);
    for (const char* ds : {"source_node_id", "target_node_id", "edge_type_id", "edge_group_id",
                           "edge_group_index", "0/syn_weight", "0/delay"}) {
      CAPTURE(ds);
      const Dataset x = read(fa, std::string("edges/A__A/") + ds);
      for (const H5::H5File* f : {&fb, &fb2, &fb8}) {
        const Dataset y = read(*f, std::string("edges/A__A/") + ds);
        CHECK(y.cls == x.cls);
        CHECK(y.size == x.size);
        CHECK(y.dims == x.dims);
        CHECK(y.chunk == x.chunk);
        CHECK(y.filters == x.filters);
        CHECK(y.storage == x.storage);
        CHECK(y.values == x.values);
      }
    }
    // The expected values themselves (the comparison above would pass if both were wrong).
    const Dataset idx = read(fb, "edges/A__A/edge_group_index");
    for (std::size_t j = 0; j < n; j += 9973) CHECK(idx.values[j] == static_cast<double>(j));
    if (n > 0) {
      CHECK(read(fb, "edges/A__A/source_node_id").values[n - 1] ==
            static_cast<double>(c.src[n - 1]));
      CHECK(read(fb, "edges/A__A/0/syn_weight").values[n / 2] == c.w[n / 2]);
    }
    CHECK(str_attr(fb.openGroup("edges/A__A"), "learning_rule") == "none");
    CHECK(str_attr(fb.openDataSet("edges/A__A/source_node_id"), "node_population") == "A");
    CHECK(str_attr(fb.openDataSet("edges/A__A/target_node_id"), "node_population") == "A");
    CHECK(str_attr(fb.openDataSet("edges/A__A/0/delay"), "units") == "ms");
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}
