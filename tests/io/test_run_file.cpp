// Tests of the HDF5 run file: every dataset read back through the HDF5 API (names, types, shapes,
// attributes, values), check_target, and crash safety (SIGKILL of a writing child process).
#include <H5Cpp.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/io/run_file.hpp"

namespace fs = std::filesystem;
using H5::PredType;

namespace {

// A fresh directory per test case, removed at the end.
struct TempDir {
  fs::path dir;
  explicit TempDir(const std::string& tag) {
    dir = fs::temp_directory_path() / ("sbx_io_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

std::string str_attr(const H5::H5Object& o, const char* name) {
  H5::Attribute a = o.openAttribute(name);
  const H5::StrType t = a.getStrType();
  CHECK(t.isVariableStr());
  CHECK(t.getCset() == H5T_CSET_UTF8);
  std::string s;
  a.read(t, s);
  return s;
}

template <class T>
T scalar_attr(const H5::H5Object& o, const char* name, const H5::DataType& file_type,
              const H5::PredType& mem_type) {
  H5::Attribute a = o.openAttribute(name);
  CHECK(a.getDataType() == file_type);
  CHECK(a.getSpace().getSimpleExtentType() == H5S_SCALAR);
  T v{};
  a.read(mem_type, &v);
  return v;
}

std::string str_dataset(const H5::Group& g, const char* name) {
  H5::DataSet ds = g.openDataSet(name);
  const H5::StrType t = ds.getStrType();
  CHECK(t.isVariableStr());
  CHECK(t.getCset() == H5T_CSET_UTF8);
  std::string s;
  ds.read(s, t);
  return s;
}

std::vector<hsize_t> dims_of(const H5::DataSet& ds) {
  H5::DataSpace sp = ds.getSpace();
  std::vector<hsize_t> d(static_cast<std::size_t>(sp.getSimpleExtentNdims()));
  if (!d.empty()) sp.getSimpleExtentDims(d.data());
  return d;
}

template <class T>
std::vector<T> read_all(const H5::DataSet& ds, const H5::DataType& file_type,
                        const H5::PredType& mem_type) {
  CHECK(ds.getDataType() == file_type);
  const auto n = static_cast<std::size_t>(ds.getSpace().getSimpleExtentNpoints());
  std::vector<T> v(n);
  if (n > 0) ds.read(v.data(), mem_type);
  return v;
}

// Growing datasets: chunked, unlimited along axis 0, shuffle then deflate(1).
void check_growing(const H5::DataSet& ds) {
  H5::DSetCreatPropList p = ds.getCreatePlist();
  REQUIRE(p.getLayout() == H5D_CHUNKED);
  REQUIRE(p.getNfilters() == 2);
  unsigned flags = 0, filter_config = 0;
  size_t nelem = 1;
  unsigned level = 0;
  char name[64];
  CHECK(H5Pget_filter2(p.getId(), 0, &flags, &nelem, &level, sizeof name, name, &filter_config) ==
        H5Z_FILTER_SHUFFLE);
  nelem = 1;
  CHECK(H5Pget_filter2(p.getId(), 1, &flags, &nelem, &level, sizeof name, name, &filter_config) ==
        H5Z_FILTER_DEFLATE);
  CHECK(level == 1);
  H5::DataSpace sp = ds.getSpace();
  hsize_t cur[2], max[2];
  sp.getSimpleExtentDims(cur, max);
  CHECK(max[0] == H5S_UNLIMITED);
}

bool have_python_h5py() {
  return fs::exists("/usr/bin/python3") &&
         std::system("/usr/bin/python3 -c 'import h5py, pandas' >/dev/null 2>&1") == 0;
}

// Runs a shell command, returns (exit status, stdout).
std::pair<int, std::string> run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, out};
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// Writes `flushes` batches of `per_flush` spikes of population 0 (spike j at tick j, neuron
// (batch + k) % 5), flushing after each, and appends what it wrote to want_t / want_id.
void spikes_in_flushes(sbx::RunFile& rf, std::uint32_t flushes, std::uint32_t per_flush,
                       std::vector<double>& want_t, std::vector<std::uint64_t>& want_id) {
  for (std::uint32_t flush = 0; flush < flushes; ++flush) {
    for (std::uint32_t k = 0; k < per_flush; ++k) {
      const std::uint32_t n[] = {(flush + k) % 5};
      const sbx::Tick t = per_flush * flush + k;
      rf.on_spikes(0, n, t);
      want_t.push_back(static_cast<double>(t));
      want_id.push_back(n[0]);
    }
    rf.flush();
  }
}

}  // namespace

TEST_CASE("sha256_hex matches the FIPS 180-4 test vectors") {
  CHECK(sbx::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sbx::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the first padded block.
  CHECK(sbx::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sbx::sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("run file round trip: every group, dataset, type and attribute") {
  TempDir tmp("roundtrip");
  const std::string path = tmp.file("run.h5");
  const sbx::TimeGrid grid(0.001);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::string toml = "# circuit\n[blocks.A]\nkind = \"lif\"  # µ UTF-8\n";
  {
    sbx::RunFile rf(path, grid);
    rf.write_meta(
        {toml, "circuits/a.toml", "{\"a\":1}", "sbx run circuits/a.toml --seed 42", "9.9.9", 42});
    rf.add_spike_population(0, "A", 5, "lif");
    rf.add_spike_population(2, "B", 3, "striatum");  // population 1 is not recorded
    rf.add_report(0, "A", "V", "mV", {0, 2, 4}, 0.0, 0.5);
    rf.add_report(3, "A", "g_exc", "nS", {1}, 0.25, 0.5);  // second report of A
    CHECK(rf.add_edges("A__B", "A", "B", {0, 1, 4}, {0, 2, 1}, {0.1, 0.2, 0.3}, {1.0, 1.5, 2.0},
                       "hebb_da", true) == 0u);
    CHECK(rf.add_edges("B__A", "B", "A", {2}, {3}, {-1.0}, {0.5}, "none", false) == 1u);
    rf.enable_trials();
    rf.enable_episodes();
    rf.set_adjacency({"A", "B"}, {0.0, 1.0, 2.0, 0.0});
    rf.start();
    CHECK_THROWS_AS(rf.add_spike_population(5, "C", 1, "lif"), sbx::InternalError);

    // Spikes arrive in time order; population 1 and probe 1 are ignored (not declared).
    const std::uint32_t s1[] = {3, 1};
    rf.on_spikes(0, s1, 1000);
    const std::uint32_t s2[] = {0};
    rf.on_spikes(1, s2, 1500);
    const std::uint32_t s3[] = {2};
    rf.on_spikes(2, s3, 2000);
    rf.on_spikes(0, s2, 2500);
    const double v0[] = {-65.0, -64.5, -64.0}, v1[] = {-60.0, -59.5, -59.0},
                 v2[] = {-55.0, 10.0, 1e-3};
    rf.on_sample(0, 0, v0);
    rf.on_sample(1, 0, v0);
    rf.on_sample(0, 500, v1);
    const double g0[] = {2.5};
    rf.on_sample(3, 250, g0);
    rf.flush();
    rf.on_sample(0, 1000, v2);
    rf.append_trial({0, 0.0, 600.0, 17, 1, 0, 1, 1.0, 0.5, 0.25, 312.5});
    rf.append_trial({1, 600.0, 1200.0, 3, 2, -1, 0, 0.0, 0.0, -0.5, nan});
    rf.append_episode({0, 195.5, 196, 1, 0});
    const double w1[] = {0.15, 0.25, 0.35};
    rf.append_weights(0, 0, w1);
    CHECK_THROWS_AS(rf.append_weights(1, 0, w1), sbx::InternalError);  // no snapshots
    rf.on_spikes(0, s2, 3000);
    rf.flush();
    const double after[] = {0.0, 1.5, 2.5, 0.0};
    rf.finish(after, 1.25);
  }

  H5::H5File f(path, H5F_ACC_RDONLY);
  const H5::Group root = f.openGroup("/");
  CHECK(scalar_attr<std::uint32_t>(root, "magic", PredType::STD_U32LE, PredType::NATIVE_UINT32) ==
        0x0A7Au);
  {
    H5::Attribute a = root.openAttribute("version");
    CHECK(a.getDataType() == PredType::STD_U32LE);
    CHECK(a.getSpace().getSimpleExtentNpoints() == 2);
    std::uint32_t v[2] = {9, 9};
    a.read(PredType::NATIVE_UINT32, v);
    CHECK(v[0] == 0u);
    CHECK(v[1] == 1u);
  }

  SUBCASE("meta") {
    const H5::Group m = f.openGroup("meta");
    CHECK(str_attr(m, "format") == "spikeblox-run/1");
    CHECK(str_attr(m, "simulator") == "spikeblox");
    CHECK(str_attr(m, "simulator_version") == "9.9.9");
    CHECK(str_attr(m, "time_units") == "ms");
    const std::string hv = str_attr(m, "hdf5_version");
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    CHECK(hv == std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel));
    const std::string created = str_attr(m, "created");  // e.g. 2025-01-31T12:34:56Z
    REQUIRE(created.size() == 20);
    CHECK(created[4] == '-');
    CHECK(created[10] == 'T');
    CHECK(created[19] == 'Z');
    CHECK(scalar_attr<std::uint64_t>(m, "seed", PredType::STD_U64LE, PredType::NATIVE_UINT64) ==
          42u);
    CHECK(scalar_attr<double>(m, "tick_ms", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) ==
          0.001);
    CHECK(scalar_attr<std::uint8_t>(m, "completed", PredType::STD_U8LE, PredType::NATIVE_UINT8) ==
          1);
    CHECK(scalar_attr<double>(m, "wall_time_s", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) ==
          1.25);
    CHECK(str_dataset(m, "circuit_toml") == toml);
    CHECK(str_dataset(m, "circuit_sha256") == sbx::sha256_hex(toml));
    CHECK(str_dataset(m, "resolved_config_json") == "{\"a\":1}");
    CHECK(str_dataset(m, "command_line") == "sbx run circuits/a.toml --seed 42");
    CHECK(str_dataset(m, "circuit_file") == "circuits/a.toml");
  }

  SUBCASE("nodes") {
    const H5::Group a = f.openGroup("nodes/A");
    CHECK(str_attr(a, "block_type") == "lif");
    CHECK(read_all<std::int64_t>(a.openDataSet("node_type_id"), PredType::STD_I64LE,
                                 PredType::NATIVE_INT64) == std::vector<std::int64_t>(5, 0));
    CHECK(read_all<std::int64_t>(a.openDataSet("node_group_id"), PredType::STD_I64LE,
                                 PredType::NATIVE_INT64) == std::vector<std::int64_t>(5, 0));
    CHECK(read_all<std::int64_t>(a.openDataSet("node_group_index"), PredType::STD_I64LE,
                                 PredType::NATIVE_INT64) ==
          std::vector<std::int64_t>{0, 1, 2, 3, 4});
    CHECK(a.nameExists("0"));
    const H5::Group b = f.openGroup("nodes/B");
    CHECK(str_attr(b, "block_type") == "striatum");
    CHECK(read_all<std::int64_t>(b.openDataSet("node_type_id"), PredType::STD_I64LE,
                                 PredType::NATIVE_INT64) == std::vector<std::int64_t>(3, 2));
    CHECK(f.openGroup("nodes").getNumObjs() == 2);
  }

  SUBCASE("spikes: SONATA layout, sorted by time, enum sorting attribute") {
    CHECK(f.openGroup("spikes").getNumObjs() == 2);
    const H5::Group a = f.openGroup("spikes/A");
    H5::Attribute s = a.openAttribute("sorting");
    REQUIRE(s.getTypeClass() == H5T_ENUM);
    H5::EnumType et = s.getEnumType();
    CHECK(et.getSize() == 1);
    CHECK(H5::IntType(H5Tget_super(et.getId())) == PredType::STD_U8LE);
    CHECK(et.getNmembers() == 3);
    std::uint8_t v = 9;
    et.valueOf("none", &v);
    CHECK(v == 0);
    et.valueOf("by_id", &v);
    CHECK(v == 1);
    et.valueOf("by_time", &v);
    CHECK(v == 2);
    std::uint8_t stored = 0;
    s.read(et, &stored);
    CHECK(et.nameOf(&stored, 16) == "by_time");

    H5::DataSet ts = a.openDataSet("timestamps");
    H5::DataSet ids = a.openDataSet("node_ids");
    check_growing(ts);
    check_growing(ids);
    CHECK(str_attr(ts, "units") == "ms");
    CHECK(read_all<double>(ts, PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) ==
          std::vector<double>{1.0, 1.0, 2.5, 3.0});
    CHECK(read_all<std::uint64_t>(ids, PredType::STD_U64LE, PredType::NATIVE_UINT64) ==
          std::vector<std::uint64_t>{3, 1, 0, 0});
    const H5::Group b = f.openGroup("spikes/B");
    CHECK(read_all<double>(b.openDataSet("timestamps"), PredType::IEEE_F64LE,
                           PredType::NATIVE_DOUBLE) == std::vector<double>{2.0});
    CHECK(read_all<std::uint64_t>(b.openDataSet("node_ids"), PredType::STD_U64LE,
                                  PredType::NATIVE_UINT64) == std::vector<std::uint64_t>{2});
  }

  SUBCASE("report: SONATA frame report with bmtk's index_pointer link") {
    const H5::Group g = f.openGroup("report/A");
    CHECK(str_attr(g, "population") == "A");
    H5::DataSet data = g.openDataSet("data");
    check_growing(data);
    CHECK(dims_of(data) == std::vector<hsize_t>{3, 3});
    CHECK(str_attr(data, "units") == "mV");
    CHECK(str_attr(data, "variable") == "V");
    CHECK(read_all<float>(data, PredType::IEEE_F32LE, PredType::NATIVE_FLOAT) ==
          std::vector<float>{-65.0f, -64.5f, -64.0f, -60.0f, -59.5f, -59.0f, -55.0f, 10.0f, 1e-3f});
    const H5::Group m = g.openGroup("mapping");
    H5::DataSet nid = m.openDataSet("node_ids");
    CHECK(read_all<std::uint64_t>(nid, PredType::STD_U64LE, PredType::NATIVE_UINT64) ==
          std::vector<std::uint64_t>{0, 2, 4});
    CHECK(scalar_attr<std::uint8_t>(nid, "sorted", PredType::STD_U8LE, PredType::NATIVE_UINT8) ==
          1);
    CHECK(read_all<std::uint64_t>(m.openDataSet("index_pointers"), PredType::STD_U64LE,
                                  PredType::NATIVE_UINT64) ==
          std::vector<std::uint64_t>{0, 1, 2, 3});
    H5L_info_t li;
    REQUIRE(H5Lget_info(m.getId(), "index_pointer", &li, H5P_DEFAULT) >= 0);
    CHECK(li.type == H5L_TYPE_HARD);
    H5O_info_t o1, o2;
    H5Oget_info_by_name2(m.getId(), "index_pointers", &o1, H5O_INFO_BASIC, H5P_DEFAULT);
    H5Oget_info_by_name2(m.getId(), "index_pointer", &o2, H5O_INFO_BASIC, H5P_DEFAULT);
    CHECK(o1.addr == o2.addr);
    CHECK(o1.rc == 2);
    CHECK(read_all<std::uint32_t>(m.openDataSet("element_ids"), PredType::STD_U32LE,
                                  PredType::NATIVE_UINT32) == std::vector<std::uint32_t>(3, 0));
    CHECK(read_all<float>(m.openDataSet("element_pos"), PredType::IEEE_F32LE,
                          PredType::NATIVE_FLOAT) == std::vector<float>(3, 0.5f));
    H5::DataSet time = m.openDataSet("time");
    CHECK(str_attr(time, "units") == "ms");
    // 3 samples from 0 every 0.5 ms: [0, 1.5) with step 0.5.
    CHECK(read_all<double>(time, PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) ==
          std::vector<double>{0.0, 1.5, 0.5});

    const H5::Group g2 = f.openGroup("report/A__g_exc");
    CHECK(str_attr(g2, "population") == "A");
    CHECK(str_attr(g2, "variable") == "g_exc");
    CHECK(dims_of(g2.openDataSet("data")) == std::vector<hsize_t>{1, 1});
    CHECK(read_all<double>(g2.openDataSet("mapping/time"), PredType::IEEE_F64LE,
                           PredType::NATIVE_DOUBLE) == std::vector<double>{0.25, 0.75, 0.5});
  }

  SUBCASE("edges and weight snapshots") {
    const H5::Group e = f.openGroup("edges/A__B");
    CHECK(str_attr(e, "learning_rule") == "hebb_da");
    H5::DataSet src = e.openDataSet("source_node_id");
    H5::DataSet tgt = e.openDataSet("target_node_id");
    CHECK(str_attr(src, "node_population") == "A");
    CHECK(str_attr(tgt, "node_population") == "B");
    CHECK(read_all<std::uint64_t>(src, PredType::STD_U64LE, PredType::NATIVE_UINT64) ==
          std::vector<std::uint64_t>{0, 1, 4});
    CHECK(read_all<std::uint64_t>(tgt, PredType::STD_U64LE, PredType::NATIVE_UINT64) ==
          std::vector<std::uint64_t>{0, 2, 1});
    CHECK(read_all<std::int64_t>(e.openDataSet("edge_group_index"), PredType::STD_I64LE,
                                 PredType::NATIVE_INT64) == std::vector<std::int64_t>{0, 1, 2});
    CHECK(read_all<double>(e.openDataSet("0/syn_weight"), PredType::IEEE_F64LE,
                           PredType::NATIVE_DOUBLE) == std::vector<double>{0.1, 0.2, 0.3});
    H5::DataSet delay = e.openDataSet("0/delay");
    CHECK(str_attr(delay, "units") == "ms");
    CHECK(read_all<double>(delay, PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) ==
          std::vector<double>{1.0, 1.5, 2.0});
    CHECK(str_attr(f.openGroup("edges/B__A"), "learning_rule") == "none");

    CHECK(f.openGroup("weights").getNumObjs() == 1);  // B__A has no snapshots
    const H5::Group w = f.openGroup("weights/A__B");
    H5::DataSet values = w.openDataSet("values");
    check_growing(values);
    CHECK(dims_of(values) == std::vector<hsize_t>{2, 3});
    CHECK(read_all<double>(values, PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) ==
          std::vector<double>{0.1, 0.2, 0.3, 0.15, 0.25, 0.35});
    H5::DataSet at = w.openDataSet("after_trial");
    check_growing(at);
    CHECK(read_all<std::int32_t>(at, PredType::STD_I32LE, PredType::NATIVE_INT32) ==
          std::vector<std::int32_t>{-1, 0});
    CHECK(read_all<std::uint64_t>(w.openDataSet("source_ids"), PredType::STD_U64LE,
                                  PredType::NATIVE_UINT64) == std::vector<std::uint64_t>{0, 1, 4});
    CHECK(read_all<std::uint64_t>(w.openDataSet("target_ids"), PredType::STD_U64LE,
                                  PredType::NATIVE_UINT64) == std::vector<std::uint64_t>{0, 2, 1});
  }

  SUBCASE("trials and episodes: packed compound tables") {
    H5::DataSet t = f.openDataSet("trials");
    check_growing(t);
    CHECK(dims_of(t) == std::vector<hsize_t>{2});
    H5::CompType ft = t.getCompType();
    const char* names[] = {"trial",        "start_time", "stop_time",     "stimulus",
                           "category",     "action",     "correct",       "reward",
                           "dopamine",     "rpe",        "decision_time", "striosome_1",
                           "striosome_2",  "tan_rate_1", "tan_rate_2",    "tan_spikes_1",
                           "tan_spikes_2", "drive_1",    "drive_2"};
    const H5::PredType* types[] = {
        &PredType::STD_U32LE,  &PredType::IEEE_F64LE, &PredType::IEEE_F64LE, &PredType::STD_U32LE,
        &PredType::STD_U8LE,   &PredType::STD_I8LE,   &PredType::STD_U8LE,   &PredType::IEEE_F64LE,
        &PredType::IEEE_F64LE, &PredType::IEEE_F64LE, &PredType::IEEE_F64LE, &PredType::IEEE_F64LE,
        &PredType::IEEE_F64LE, &PredType::IEEE_F64LE, &PredType::IEEE_F64LE, &PredType::IEEE_F64LE,
        &PredType::IEEE_F64LE, &PredType::IEEE_F64LE, &PredType::IEEE_F64LE};
    REQUIRE(ft.getNmembers() == 19);
    CHECK(ft.getSize() == 123);  // packed: 4+8+8+4+1+1+1+8+8+8+8 + 8 diagnostics * 8
    for (int i = 0; i < 19; ++i) {
      CHECK(ft.getMemberName(static_cast<unsigned>(i)) == names[i]);
      CHECK(ft.getMemberDataType(static_cast<unsigned>(i)) == *types[i]);
    }
    // Read into a struct of the test's own layout.
    struct Row {
      std::uint32_t trial;
      double start, stop;
      std::uint32_t stimulus;
      std::uint8_t category;
      std::int8_t action;
      std::uint8_t correct;
      double reward, dopamine, rpe, decision;
    };
    H5::CompType mt(sizeof(Row));
    mt.insertMember("trial", HOFFSET(Row, trial), PredType::NATIVE_UINT32);
    mt.insertMember("start_time", HOFFSET(Row, start), PredType::NATIVE_DOUBLE);
    mt.insertMember("stop_time", HOFFSET(Row, stop), PredType::NATIVE_DOUBLE);
    mt.insertMember("stimulus", HOFFSET(Row, stimulus), PredType::NATIVE_UINT32);
    mt.insertMember("category", HOFFSET(Row, category), PredType::NATIVE_UINT8);
    mt.insertMember("action", HOFFSET(Row, action), PredType::NATIVE_INT8);
    mt.insertMember("correct", HOFFSET(Row, correct), PredType::NATIVE_UINT8);
    mt.insertMember("reward", HOFFSET(Row, reward), PredType::NATIVE_DOUBLE);
    mt.insertMember("dopamine", HOFFSET(Row, dopamine), PredType::NATIVE_DOUBLE);
    mt.insertMember("rpe", HOFFSET(Row, rpe), PredType::NATIVE_DOUBLE);
    mt.insertMember("decision_time", HOFFSET(Row, decision), PredType::NATIVE_DOUBLE);
    Row r[2];
    t.read(r, mt);
    CHECK(r[0].trial == 0u);
    CHECK(r[0].start == 0.0);
    CHECK(r[0].stop == 600.0);
    CHECK(r[0].stimulus == 17u);
    CHECK(r[0].category == 1);
    CHECK(r[0].action == 0);
    CHECK(r[0].correct == 1);
    CHECK(r[0].reward == 1.0);
    CHECK(r[0].dopamine == 0.5);
    CHECK(r[0].rpe == 0.25);
    CHECK(r[0].decision == 312.5);
    CHECK(r[1].trial == 1u);
    CHECK(r[1].start == 600.0);
    CHECK(r[1].stop == 1200.0);
    CHECK(r[1].stimulus == 3u);
    CHECK(r[1].category == 2);
    CHECK(r[1].action == -1);
    CHECK(r[1].correct == 0);
    CHECK(r[1].rpe == -0.5);
    CHECK(std::isnan(r[1].decision));

    H5::DataSet ep = f.openDataSet("episodes");
    check_growing(ep);
    H5::CompType et = ep.getCompType();
    REQUIRE(et.getNmembers() == 5);
    CHECK(et.getSize() == 18);
    CHECK(et.getMemberName(1) == "return");
    struct ERow {
      std::uint32_t episode;
      double ret;
      std::uint32_t length;
      std::uint8_t terminated, truncated;
    };
    H5::CompType emt(sizeof(ERow));
    emt.insertMember("episode", HOFFSET(ERow, episode), PredType::NATIVE_UINT32);
    emt.insertMember("return", HOFFSET(ERow, ret), PredType::NATIVE_DOUBLE);
    emt.insertMember("length", HOFFSET(ERow, length), PredType::NATIVE_UINT32);
    emt.insertMember("terminated", HOFFSET(ERow, terminated), PredType::NATIVE_UINT8);
    emt.insertMember("truncated", HOFFSET(ERow, truncated), PredType::NATIVE_UINT8);
    REQUIRE(dims_of(ep) == std::vector<hsize_t>{1});
    ERow e{};
    ep.read(&e, emt);
    CHECK(e.episode == 0u);
    CHECK(e.ret == 195.5);
    CHECK(e.length == 196u);
    CHECK(e.terminated == 1);
    CHECK(e.truncated == 0);
  }

  SUBCASE("adjacency") {
    const H5::Group g = f.openGroup("adjacency");
    H5::DataSet names = g.openDataSet("node_names");
    REQUIRE(dims_of(names) == std::vector<hsize_t>{2});
    const H5::StrType st = names.getStrType();
    CHECK(st.isVariableStr());
    CHECK(st.getCset() == H5T_CSET_UTF8);
    char* s[2] = {nullptr, nullptr};
    names.read(s, st);
    CHECK(std::string(s[0]) == "A");
    CHECK(std::string(s[1]) == "B");
    H5::DataSpace sp = names.getSpace();
    H5Dvlen_reclaim(st.getId(), sp.getId(), H5P_DEFAULT, s);
    H5::DataSet before = g.openDataSet("before");
    CHECK(dims_of(before) == std::vector<hsize_t>{2, 2});
    CHECK(read_all<double>(before, PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) ==
          std::vector<double>{0.0, 1.0, 2.0, 0.0});
    CHECK(read_all<double>(g.openDataSet("after"), PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) ==
          std::vector<double>{0.0, 1.5, 2.5, 0.0});
  }
}

TEST_CASE("run file: misuse is refused, out-of-order spikes downgrade the sorting attribute") {
  TempDir tmp("misuse");
  const std::string path = tmp.file("run.h5");
  {
    sbx::RunFile rf(path, sbx::TimeGrid(0.1), {.swmr = false});
    rf.add_spike_population(0, "A", 2, "lif");
    rf.add_report(0, "A", "V", "mV", {0, 1}, std::numeric_limits<double>::quiet_NaN(), 1.0);
    rf.set_adjacency({"A"}, {0.0});
    CHECK_THROWS_AS(rf.add_spike_population(0, "A2", 2, "lif"), sbx::InternalError);  // id reused
    CHECK_THROWS_AS(rf.add_report(1, "A", "V", "mV", {}, 0.0, 1.0), sbx::InternalError);
    CHECK_THROWS_AS(rf.add_edges("x/y", "A", "A", {}, {}, {}, {}, "none", false),
                    sbx::InternalError);
    CHECK_THROWS_AS(rf.append_trial({}), sbx::InternalError);  // trials not enabled
    rf.start();
    const std::uint32_t n0[] = {0}, n1[] = {1}, bad[] = {2};
    CHECK_THROWS_AS(rf.on_spikes(0, bad, 0), sbx::InternalError);  // neuron out of range
    rf.on_spikes(0, n0, 50);
    rf.on_spikes(0, n1, 20);  // out of order within one buffer: sorted on write
    rf.flush();
    rf.on_spikes(0, n1, 10);  // before what is already written: order lost
    const double v[] = {1.0, 2.0};
    rf.on_sample(0, 30, v);  // t0 = NaN: the first sample fixes the grid start (3 ms)
    rf.on_sample(0, 40, v);
    CHECK_THROWS_AS(rf.on_sample(0, 45, v), sbx::InternalError);  // off the 1 ms grid
    const double short_v[] = {1.0};
    CHECK_THROWS_AS(rf.on_sample(0, 50, short_v), sbx::InternalError);
    const double bad_adj[] = {1.0, 2.0};
    CHECK_THROWS_AS(rf.finish(bad_adj, 0.0), sbx::InternalError);
    rf.finish({}, 0.5);
    CHECK_THROWS_AS(rf.flush(), sbx::InternalError);
  }
  H5::H5File f(path, H5F_ACC_RDONLY);
  const H5::Group a = f.openGroup("spikes/A");
  H5::Attribute s = a.openAttribute("sorting");
  H5::EnumType et = s.getEnumType();
  std::uint8_t stored = 9;
  s.read(et, &stored);
  CHECK(et.nameOf(&stored, 16) == "none");
  CHECK(read_all<double>(a.openDataSet("timestamps"), PredType::IEEE_F64LE,
                         PredType::NATIVE_DOUBLE) == std::vector<double>{2.0, 5.0, 1.0});
  CHECK(read_all<std::uint64_t>(a.openDataSet("node_ids"), PredType::STD_U64LE,
                                PredType::NATIVE_UINT64) == std::vector<std::uint64_t>{1, 0, 1});
  CHECK(read_all<double>(f.openDataSet("report/A/mapping/time"), PredType::IEEE_F64LE,
                         PredType::NATIVE_DOUBLE) == std::vector<double>{3.0, 5.0, 1.0});
  CHECK(read_all<double>(f.openDataSet("adjacency/after"), PredType::IEEE_F64LE,
                         PredType::NATIVE_DOUBLE)
            .at(0) != 0.0);  // still NaN: finish() got no matrix
  // Non-SWMR files use the default (oldest compatible) format: superblock version 0.
  unsigned super = 99;
  H5F_info2_t info;
  REQUIRE(H5Fget_info2(f.getId(), &info) >= 0);
  super = info.super.version;
  CHECK(super == 0u);
}

TEST_CASE("run file: destroying without finish() leaves a closed, readable file") {
  TempDir tmp("nofinish");
  const std::string path = tmp.file("run.h5");
  {
    sbx::RunFile rf(path, sbx::TimeGrid(1.0));
    rf.add_spike_population(0, "A", 1, "lif");
    rf.start();
    const std::uint32_t n0[] = {0};
    rf.on_spikes(0, n0, 7);  // buffered, written by the destructor
  }
  const hid_t fid = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);  // plain open works
  REQUIRE(fid >= 0);
  {
    H5::H5File f(fid);
    CHECK_FALSE(f.openGroup("meta").attrExists("completed"));
    CHECK(read_all<double>(f.openDataSet("spikes/A/timestamps"), PredType::IEEE_F64LE,
                           PredType::NATIVE_DOUBLE) == std::vector<double>{7.0});
  }
  H5Fclose(fid);
}

TEST_CASE("check_target refuses existing files and unwritable places, force overwrites") {
  TempDir tmp("target");
  const std::string path = tmp.file("run.h5");
  { std::ofstream(path) << "not an HDF5 file"; }
  try {
    sbx::RunFile::check_target(path, false);
    FAIL("an existing file must be refused");
  } catch (const sbx::UserError& e) {
    const std::string msg = e.what();
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.find("already exists") != std::string::npos);
    CHECK(msg.find("--force") != std::string::npos);
  }
  CHECK_THROWS_AS(sbx::RunFile(path, sbx::TimeGrid{}), sbx::UserError);
  CHECK_NOTHROW(sbx::RunFile::check_target(path, true));
  {
    sbx::RunFile rf(path, sbx::TimeGrid{}, {.force = true});
    rf.start();
    rf.finish({}, 0.0);
  }
  CHECK(H5Fis_hdf5(path.c_str()) > 0);  // the text file was replaced

  // A directory is not a file name.
  CHECK_THROWS_AS(sbx::RunFile::check_target(tmp.dir.string(), true), sbx::UserError);
  // The parent is a regular file: it cannot be a directory.
  CHECK_THROWS_AS(sbx::RunFile::check_target(path + "/run.h5", false), sbx::UserError);
  // Missing parent directories are created.
  const std::string deep = tmp.file("a/b/run.h5");
  CHECK_NOTHROW(sbx::RunFile::check_target(deep, false));
  CHECK(fs::is_directory(tmp.dir / "a" / "b"));
  CHECK_FALSE(fs::exists(deep));
  CHECK(fs::is_empty(tmp.dir / "a" / "b"));  // the write probe is removed again

  // Unwritable directory. Root may write anywhere on a normal file system, so root gets a
  // directory where nobody can create files (procfs).
  std::string unwritable;
  if (::geteuid() != 0) {
    const fs::path ro = tmp.dir / "ro";
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    unwritable = (ro / "run.h5").string();
  } else {
    unwritable = "/proc/self/run.h5";
  }
  try {
    sbx::RunFile::check_target(unwritable, false);
    FAIL("an unwritable directory must be refused");
  } catch (const sbx::UserError& e) {
    CHECK(std::string(e.what()).find(unwritable) != std::string::npos);
  }
  if (::geteuid() != 0) fs::permissions(tmp.dir / "ro", fs::perms::owner_all);
}

// The child writes trial rows (flush after each) and publishes how many were flushed; the
// parent SIGKILLs it mid-run and checks the file.
TEST_CASE("crash safety: SIGKILL during a SWMR run keeps every flushed trial intact") {
  TempDir tmp("crash");
  const std::string path = tmp.file("run.h5");
  const std::string marker = tmp.file("flushed");
  constexpr int kMaxRows = 100000;
  auto row_for = [](std::uint32_t i) {
    return sbx::TrialRow{i,
                         i * 100.0,
                         i * 100.0 + 90.0,
                         i * 7u,
                         std::uint8_t(1 + i % 2),
                         std::int8_t(i % 3),
                         std::uint8_t(i % 2),
                         i * 0.5,
                         -1.0 * i,
                         0.25 * i,
                         i + 0.125};
  };
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      sbx::RunFile rf(path, sbx::TimeGrid(1.0));
      rf.add_spike_population(0, "A", 5, "lif");
      rf.enable_trials();
      rf.start();
      for (std::uint32_t i = 0; i < kMaxRows; ++i) {
        // 300 spikes per row: whole 1024-spike chunks are filtered and written directly
        // (SpikeColumn) between flushes of the partial chunk.
        for (std::uint32_t j = 0; j < 300; ++j) {
          const std::uint32_t k = 300 * i + j;
          const std::uint32_t n[] = {k % 5};
          rf.on_spikes(0, n, static_cast<sbx::Tick>(k));
        }
        rf.append_trial(row_for(i));
        rf.flush();
        const std::string tmp_marker = marker + ".tmp";
        { std::ofstream(tmp_marker) << (i + 1); }
        std::rename(tmp_marker.c_str(), marker.c_str());  // atomic publish
      }
      for (;;) ::pause();  // wait for the kill
    } catch (...) {
      ::_exit(3);
    }
  }
  // Parent: wait for >= 3 flushed rows (at most 30 s), then kill.
  long flushed = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (flushed < 3 && std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(marker);
    if (!(in >> flushed)) flushed = 0;
    if (flushed < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Let the child run on a little, so the kill lands in the middle of its write loop.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  {
    std::ifstream in(marker);
    in >> flushed;  // the latest count before the kill
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(flushed >= 3);
  MESSAGE("child killed after " << flushed << " flushed trial rows");

  // A plain open of a crashed SWMR file is refused (consistency flag still set; h5clear -s).
  H5::Exception::dontPrint();
  CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT) < 0);

  // SWMR read mode opens it without h5clear.
  const hid_t fid = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
  REQUIRE(fid >= 0);
  std::size_t n_rows = 0;
  {
    H5::H5File f(fid);
    H5::DataSet t = f.openDataSet("trials");
    n_rows = static_cast<std::size_t>(dims_of(t).at(0));
    CHECK(n_rows >= static_cast<std::size_t>(flushed));
    std::vector<sbx::TrialRow> rows(n_rows);
    H5::CompType mt(sizeof(sbx::TrialRow));
    mt.insertMember("trial", HOFFSET(sbx::TrialRow, trial), PredType::NATIVE_UINT32);
    mt.insertMember("start_time", HOFFSET(sbx::TrialRow, start_time), PredType::NATIVE_DOUBLE);
    mt.insertMember("stop_time", HOFFSET(sbx::TrialRow, stop_time), PredType::NATIVE_DOUBLE);
    mt.insertMember("stimulus", HOFFSET(sbx::TrialRow, stimulus), PredType::NATIVE_UINT32);
    mt.insertMember("category", HOFFSET(sbx::TrialRow, category), PredType::NATIVE_UINT8);
    mt.insertMember("action", HOFFSET(sbx::TrialRow, action), PredType::NATIVE_INT8);
    mt.insertMember("correct", HOFFSET(sbx::TrialRow, correct), PredType::NATIVE_UINT8);
    mt.insertMember("reward", HOFFSET(sbx::TrialRow, reward), PredType::NATIVE_DOUBLE);
    mt.insertMember("dopamine", HOFFSET(sbx::TrialRow, dopamine), PredType::NATIVE_DOUBLE);
    mt.insertMember("rpe", HOFFSET(sbx::TrialRow, rpe), PredType::NATIVE_DOUBLE);
    mt.insertMember("decision_time", HOFFSET(sbx::TrialRow, decision_time),
                    PredType::NATIVE_DOUBLE);
    if (n_rows > 0) t.read(rows.data(), mt);
    std::size_t intact = 0;
    for (std::uint32_t i = 0; i < n_rows; ++i) {
      const sbx::TrialRow e = row_for(i);
      const sbx::TrialRow& r = rows[i];
      intact += r.trial == e.trial && r.start_time == e.start_time && r.stop_time == e.stop_time &&
                r.stimulus == e.stimulus && r.category == e.category && r.action == e.action &&
                r.correct == e.correct && r.reward == e.reward && r.dopamine == e.dopamine &&
                r.rpe == e.rpe && r.decision_time == e.decision_time;
    }
    CHECK(intact == n_rows);
    // Spikes flushed with each row: 300 per trial, spike k at t = k ms, neuron k % 5.
    const auto ts = read_all<double>(f.openDataSet("spikes/A/timestamps"), PredType::IEEE_F64LE,
                                     PredType::NATIVE_DOUBLE);
    const auto ids = read_all<std::uint64_t>(f.openDataSet("spikes/A/node_ids"),
                                             PredType::STD_U64LE, PredType::NATIVE_UINT64);
    CHECK(ts.size() >= 300 * static_cast<std::size_t>(flushed));
    CHECK(ids.size() >= 300 * static_cast<std::size_t>(flushed));
    std::size_t good = 0;
    const std::size_t n_sp = std::min(ts.size(), ids.size());
    for (std::size_t k = 0; k < n_sp; ++k) good += ts[k] == double(k) && ids[k] == k % 5;
    CHECK(good == n_sp);
  }
  H5Fclose(fid);

  // h5clear -s makes a plain open work (on a copy; the original stays as the crash left it).
  if (fs::exists("/usr/bin/h5clear")) {
    const std::string copy = tmp.file("cleared.h5");
    fs::copy_file(path, copy);
    REQUIRE(std::system(("/usr/bin/h5clear -s '" + copy + "' >/dev/null 2>&1").c_str()) == 0);
    const hid_t cid = H5Fopen(copy.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(cid >= 0);
    if (cid >= 0) H5Fclose(cid);
  }

  // h5py: swmr=True opens the crashed file; plain open raises; pandas reads /trials.
  if (have_python_h5py()) {
    const std::string py =
        "import h5py, pandas as pd, sys\n"
        "p = sys.argv[1]\n"
        "try:\n"
        "    h5py.File(p, 'r'); print('plain=ok')\n"
        "except OSError as e:\n"
        "    print('plain=refused')\n"
        "with h5py.File(p, 'r', libver='latest', swmr=True) as f:\n"
        "    df = pd.DataFrame(f['trials'][:])\n"
        "    ok = (df['trial'] == range(len(df))).all() and "
        "(df['start_time'] == df['trial'] * 100.0).all()\n"
        "    print('rows=%d ok=%d' % (len(df), ok))\n";
    const std::string script = tmp.file("check.py");
    { std::ofstream(script) << py; }
    const auto [rc, out] = run_capture("/usr/bin/python3 '" + script + "' '" + path + "'");
    MESSAGE("h5py says: " << out);
    CHECK(rc == 0);
    CHECK(out.find("plain=refused") != std::string::npos);
    CHECK(out.find("rows=" + std::to_string(n_rows) + " ok=1") != std::string::npos);
  } else {
    MESSAGE("skipped the h5py check: /usr/bin/python3 with h5py and pandas not found");
  }
}

// Set-up that fails before start() (bad input found while building the run) must not leave a
// half-written file, nor replace the file it was asked to overwrite (--force).
TEST_CASE("run file: before start() the file is partial and is deleted if the run never starts") {
  TempDir tmp("staging");
  const std::string path = tmp.file("run.h5");
  const auto partials = [&] {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(tmp.dir))
      n += e.path().filename().string().find(".partial-") != std::string::npos ? 1 : 0;
    return n;
  };
  {  // new file, never started: nothing is left
    sbx::RunFile rf(path, sbx::TimeGrid(1.0));
    rf.add_spike_population(0, "A", 1, "lif");
    CHECK_FALSE(fs::exists(path));
    CHECK(partials() == 1);
  }
  CHECK_FALSE(fs::exists(path));
  CHECK(partials() == 0);

  { std::ofstream(path) << "an earlier run"; }
  try {  // --force over an existing file, an error before start(): the old file stays
    sbx::RunFile rf(path, sbx::TimeGrid(1.0), {.force = true});
    rf.add_spike_population(0, "A", 1, "lif");
    throw std::runtime_error("bad input found while building");
  } catch (const std::runtime_error&) {
  }
  {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    CHECK(text == "an earlier run");
  }
  CHECK(partials() == 0);

  {  // started: the file replaces the old one, and what follows goes into it
    sbx::RunFile rf(path, sbx::TimeGrid(1.0), {.force = true});
    rf.add_spike_population(0, "A", 1, "lif");
    rf.start();
    CHECK(H5Fis_hdf5(path.c_str()) > 0);
    CHECK(partials() == 0);
    const std::uint32_t n0[] = {0};
    rf.on_spikes(0, n0, 3);
    rf.finish({}, 0.0);
  }
  const H5::H5File f(path, H5F_ACC_RDONLY);
  CHECK(f.openGroup("meta").attrExists("completed"));
  CHECK(read_all<double>(f.openDataSet("spikes/A/timestamps"), PredType::IEEE_F64LE,
                         PredType::NATIVE_DOUBLE) == std::vector<double>{3.0});

  // Ctrl-C during the set-up: start() stops the run, the old file stays, the partial goes.
  {
    sbx::RunFile rf(path, sbx::TimeGrid(1.0), {.force = true});
    sbx::request_interrupt(SIGINT);
    bool before_output = false;
    try {
      rf.start();
    } catch (const sbx::Interrupted& e) {
      before_output = e.before_output();
    }
    sbx::clear_interrupt();
    CHECK(before_output);
  }
  CHECK(partials() == 0);
  CHECK(H5::H5File(path, H5F_ACC_RDONLY).openGroup("meta").attrExists("completed"));

  // Without --force, a file that appeared at the path while the run was being set up is kept.
  const std::string other = tmp.file("other.h5");
  sbx::RunFile rf(other, sbx::TimeGrid(1.0));
  { std::ofstream(other) << "written meanwhile"; }
  CHECK_THROWS_AS(rf.start(), sbx::UserError);
  std::ifstream in(other);
  std::string text;
  std::getline(in, text);
  CHECK(text == "written meanwhile");
}

TEST_CASE("run file: spikes flushed often round-trip, full chunks compressed, the last one raw") {
  // 3000 spikes in 30 flushes: the partly filled last chunk of each spike dataset is written
  // at every flush unfiltered (H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) and replaced by the
  // filtered chunk once it is whole (SpikeColumn). The data must read back exactly, and the two
  // whole chunks (of 1024 ids in 0..4, which shuffle + deflate to a few hundred bytes) must be
  // stored compressed. With 1, 2 and 3 threads compressing the columns of a flush.
  for (const unsigned threads : {1u, 2u, 3u}) {
    CAPTURE(threads);
    TempDir tmp("chunks");
    const std::string path = tmp.file("run.h5");
    std::vector<double> want_t;
    std::vector<std::uint64_t> want_id;
    {
      sbx::RunFileOptions opt;
      opt.threads = threads;
      sbx::RunFile rf(path, sbx::TimeGrid(1.0), opt);
      rf.add_spike_population(0, "A", 5, "lif");
      rf.start();
      spikes_in_flushes(rf, 30, 100, want_t, want_id);
      rf.finish({}, 0.0);
    }
    H5::H5File f(path, H5F_ACC_RDONLY);
    const H5::DataSet ids = f.openDataSet("spikes/A/node_ids");
    CHECK(read_all<double>(f.openDataSet("spikes/A/timestamps"), PredType::IEEE_F64LE,
                           PredType::NATIVE_DOUBLE) == want_t);
    CHECK(read_all<std::uint64_t>(ids, PredType::STD_U64LE, PredType::NATIVE_UINT64) == want_id);
    unsigned opts = 0;
    const H5::DSetCreatPropList dcpl = ids.getCreatePlist();
    REQUIRE(H5Pget_chunk_opts(dcpl.getId(), &opts) >= 0);
    CHECK((opts & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) != 0u);
    // 3 chunks of 8 KiB raw: the partial one raw (8 KiB), the two whole ones compressed.
    CHECK(ids.getStorageSize() < 8192 + 2 * 1024);
    CHECK(ids.getStorageSize() > 8192);
  }
}

TEST_CASE("run file: spikes of several populations, flushes completing several chunks at once") {
  // Flushes of 100 or 2500 spikes into two populations, on 1 or 2 threads, and a last flush
  // that ends exactly on a chunk boundary: every spike reads back in order, and the files of 1
  // and 2 threads hold the same stored bytes.
  std::vector<hsize_t> sizes[2];
  for (const unsigned threads : {1u, 2u}) {
    CAPTURE(threads);
    TempDir tmp("chunks2");
    const std::string path = tmp.file("run.h5");
    std::vector<double> want_t[2];
    std::vector<std::uint64_t> want_id[2];
    {
      sbx::RunFileOptions opt;
      opt.threads = threads;
      sbx::RunFile rf(path, sbx::TimeGrid(1.0), opt);
      rf.add_spike_population(0, "A", 1000, "lif");
      rf.add_spike_population(1, "B", 7, "lif");
      rf.start();
      sbx::Tick t = 0;
      for (std::uint32_t flush = 0; flush < 12; ++flush) {
        const std::uint32_t n_spikes = flush % 4 == 2 ? 2500 : 100;
        for (std::uint32_t k = 0; k < n_spikes; ++k, ++t) {
          const std::uint32_t pop = k % 3 == 0 ? 1 : 0;
          const std::uint32_t n[] = {pop == 0 ? (k * 37 + flush) % 1000 : k % 7};
          rf.on_spikes(pop, n, t);
          want_t[pop].push_back(static_cast<double>(t));
          want_id[pop].push_back(n[0]);
        }
        rf.flush();
      }
      // Top population A up to a whole number of 1024-row chunks, then flush.
      while (want_t[0].size() % 1024 != 0) {
        const std::uint32_t n[] = {3};
        rf.on_spikes(0, n, ++t);
        want_t[0].push_back(static_cast<double>(t));
        want_id[0].push_back(3);
      }
      rf.flush();
      rf.finish({}, 0.0);
    }
    H5::H5File f(path, H5F_ACC_RDONLY);
    for (int pop = 0; pop < 2; ++pop) {
      const std::string g = pop == 0 ? "spikes/A/" : "spikes/B/";
      CAPTURE(g);
      const H5::DataSet ts = f.openDataSet(g + "timestamps"), ids = f.openDataSet(g + "node_ids");
      CHECK(read_all<double>(ts, PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) == want_t[pop]);
      CHECK(read_all<std::uint64_t>(ids, PredType::STD_U64LE, PredType::NATIVE_UINT64) ==
            want_id[pop]);
      sizes[threads - 1].push_back(ts.getStorageSize());
      sizes[threads - 1].push_back(ids.getStorageSize());
    }
  }
  CHECK(sizes[0] == sizes[1]);
}

TEST_CASE("run file without compression (deflate 0): spikes and streamed edges round-trip") {
  TempDir tmp("raw");
  const std::string path = tmp.file("run.h5");
  std::vector<double> want_t;
  std::vector<std::uint64_t> want_id;
  constexpr std::size_t n_edges = 70001;
  {
    sbx::RunFileOptions opt;
    opt.deflate = 0;
    opt.threads = 2;
    sbx::RunFile rf(path, sbx::TimeGrid(1.0), opt);
    rf.add_spike_population(0, "A", 5, "lif");
    rf.add_edges_streamed(
        "A__A", "A", "A", n_edges,
        [](std::size_t first, std::size_t count, const sbx::RunFile::EdgeBlock& out) {
          for (std::size_t k = 0; k < count; ++k) {
            out.src[k] = static_cast<std::uint32_t>((first + k) % 5);
            out.tgt[k] = static_cast<std::uint32_t>((first + k) / 5 % 5);
            out.w[k] = 0.5f;
            out.delay_ms[k] = 1.0;
          }
        },
        "none", 10000);
    rf.start();
    spikes_in_flushes(rf, 7, 700, want_t, want_id);
    rf.finish({}, 0.0);
  }
  H5::H5File f(path, H5F_ACC_RDONLY);
  const H5::DataSet ts = f.openDataSet("spikes/A/timestamps");
  CHECK(ts.getCreatePlist().getNfilters() == 0);
  CHECK(read_all<double>(ts, PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE) == want_t);
  CHECK(read_all<std::uint64_t>(f.openDataSet("spikes/A/node_ids"), PredType::STD_U64LE,
                                PredType::NATIVE_UINT64) == want_id);
  const auto tgt = read_all<std::uint64_t>(f.openDataSet("edges/A__A/target_node_id"),
                                           PredType::STD_U64LE, PredType::NATIVE_UINT64);
  REQUIRE(tgt.size() == n_edges);
  for (std::size_t j = 0; j < n_edges; j += 997) CHECK(tgt[j] == j / 5 % 5);
  const auto idx = read_all<std::int64_t>(f.openDataSet("edges/A__A/edge_group_index"),
                                          PredType::STD_I64LE, PredType::NATIVE_INT64);
  REQUIRE(idx.size() == n_edges);
  CHECK(idx.back() == static_cast<std::int64_t>(n_edges - 1));
}

TEST_CASE(
    "run file: a partial spike chunk completed by the next buffer-full write, no flush between") {
  // The 65 536-spike buffer is written without a file flush; after a first flush of 100 spikes,
  // each such write leaves a partly filled chunk (written raw, maybe still dirty in HDF5's chunk
  // cache) that the next one completes with a direct chunk write. Nothing may be lost or stale.
  TempDir tmp("dirty");
  const std::string path = tmp.file("run.h5");
  std::vector<std::uint64_t> want_id;
  {
    sbx::RunFile rf(path, sbx::TimeGrid(1.0));
    rf.add_spike_population(0, "A", 1000, "lif");
    rf.start();
    sbx::Tick t = 0;
    auto spike = [&] {
      const std::uint32_t n[] = {static_cast<std::uint32_t>((t * 7919) % 1000)};
      rf.on_spikes(0, n, t++);
      want_id.push_back(n[0]);
    };
    for (int k = 0; k < 100; ++k) spike();
    rf.flush();
    for (int k = 0; k < 3 * 65536 + 77; ++k) spike();  // three buffer-full writes, no flush
    rf.finish({}, 0.0);
  }
  H5::H5File f(path, H5F_ACC_RDONLY);
  const auto ids = read_all<std::uint64_t>(f.openDataSet("spikes/A/node_ids"), PredType::STD_U64LE,
                                           PredType::NATIVE_UINT64);
  const auto ts = read_all<double>(f.openDataSet("spikes/A/timestamps"), PredType::IEEE_F64LE,
                                   PredType::NATIVE_DOUBLE);
  REQUIRE(ids.size() == want_id.size());
  CHECK(ids == want_id);
  REQUIRE(ts.size() == want_id.size());
  std::size_t good = 0;
  for (std::size_t k = 0; k < ts.size(); ++k) good += ts[k] == static_cast<double>(k);
  CHECK(good == ts.size());
}
