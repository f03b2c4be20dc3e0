#include "apps/checkpoint.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "circuits/loader.hpp"
#include "engine/errors.hpp"
#include "engine/io/run_file.hpp"
#include "engine/state_stream.hpp"

namespace sbx::app {

namespace {

constexpr char kMagic[8] = {'S', 'B', 'X', 'C', 'K', 'P', 'T', '1'};

[[noreturn]] void io_fail(const std::string& what, const std::string& path) {
  throw SimError("checkpoint '" + path + "': " + what + ": " + std::strerror(errno));
}

void write_all(int fd, const char* p, std::size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t k = ::write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      io_fail("write failed", path);
    }
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}

}  // namespace

std::string checkpoint_path(const std::string& run_path) {
  return run_path + ".ckpt";
}

void write_checkpoint(const std::string& path, const CheckpointInfo& c) {
  StateWriter w;
  w.tag("info");
  w.put_string(c.version);
  w.put_string(c.circuit_toml);
  w.put_string(c.circuit_file);
  w.put<std::uint64_t>(c.overrides.size());
  for (const auto& o : c.overrides) w.put_string(o);
  w.put_string(c.command_line);
  w.put_string(c.run_path);
  w.put_string(c.cwd);
  w.put(c.checkpoint_every);
  w.put(c.trials_done);
  w.put(c.weight_snapshots);
  w.put<std::uint64_t>(c.spike_counts.size());
  for (const auto& [name, n] : c.spike_counts) {
    w.put_string(name);
    w.put(n);
  }
  w.put_string(c.experiment_state);
  const std::string& payload = w.bytes();
  const std::string sum = sha256_hex(payload);

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_fail("cannot create " + tmp, path);
  write_all(fd, kMagic, sizeof kMagic, path);
  write_all(fd, payload.data(), payload.size(), path);
  write_all(fd, sum.data(), sum.size(), path);
  if (::fsync(fd) != 0) io_fail("fsync failed", path);
  if (::close(fd) != 0) io_fail("close failed", path);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) io_fail("rename failed", path);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // make the rename itself durable
    ::fsync(dfd);
    ::close(dfd);
  }
}

CheckpointInfo read_checkpoint(const std::string& path) {
  auto bad = [&](const std::string& msg) -> UserError {
    return UserError(Diagnostic{path, 0, 0, "--resume", msg});
  };
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw bad(
        "no checkpoint here: --resume needs a run started with --checkpoint-every N that was "
        "interrupted after its first checkpoint (" +
        std::string(std::strerror(errno)) + ")");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  if (all.size() < sizeof kMagic + 64 || all.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0)
    throw bad("not a spikeblox checkpoint");
  const std::string_view payload(all.data() + sizeof kMagic, all.size() - sizeof kMagic - 64);
  if (sha256_hex(payload) != all.substr(all.size() - 64))
    throw bad("checkpoint is damaged (checksum mismatch)");
  CheckpointInfo c;
  try {
    StateReader r(payload);
    r.expect_tag("info");
    c.version = r.get_string();
    c.circuit_toml = r.get_string();
    c.circuit_file = r.get_string();
    const auto n_over = r.get<std::uint64_t>();
    for (std::uint64_t k = 0; k < n_over; ++k) c.overrides.push_back(r.get_string());
    c.command_line = r.get_string();
    c.run_path = r.get_string();
    c.cwd = r.get_string();
    c.checkpoint_every = r.get<std::uint64_t>();
    c.trials_done = r.get<std::uint64_t>();
    c.weight_snapshots = r.get<std::uint64_t>();
    const auto n_pops = r.get<std::uint64_t>();
    for (std::uint64_t k = 0; k < n_pops; ++k) {
      std::string name = r.get_string();
      c.spike_counts.emplace_back(std::move(name), r.get<std::uint64_t>());
    }
    c.experiment_state = r.get_string();
    if (!r.at_end()) throw std::runtime_error("checkpoint: trailing bytes");
  } catch (const std::runtime_error& e) {
    throw bad(e.what());
  }
  if (c.version != SBX_VERSION)
    throw bad("written by spikeblox " + c.version + ", this is " + SBX_VERSION +
              "; resume with the version that started the run");
  return c;
}

OldRunFile::OldRunFile(const std::string& path) : path_(path) {
  H5E_BEGIN_TRY {
    file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file_ < 0) {  // killed while in SWMR write mode: readable in SWMR read mode
      const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
      H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
      file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
      H5Pclose(fapl);
    }
  }
  H5E_END_TRY;
  if (file_ < 0)
    throw UserError(Diagnostic{path, 0, 0, "--resume",
                               "cannot open the interrupted run file (with [output] swmr = false "
                               "a killed run file may be unreadable)"});
}

OldRunFile::~OldRunFile() {
  if (file_ >= 0) H5Fclose(file_);
}

void OldRunFile::read(const std::string& dataset, std::int64_t mem_type, std::uint64_t n,
                      std::uint64_t cols, void* out) {
  if (n == 0) return;
  // (bad input, not a run-time failure: the file at that path is not the one the checkpoint was
  // written for)
  auto fail = [&](const std::string& msg) {
    throw UserError(Diagnostic{path_, 0, 0, "--resume",
                               "interrupted run file, " + dataset + ": " + msg +
                                   "; --resume needs the run file the checkpoint was written for"});
  };
  hid_t ds = -1;
  H5E_BEGIN_TRY {
    ds = H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT);
  }
  H5E_END_TRY;
  if (ds < 0) fail("missing");
  const hid_t space = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(space);
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space, dims, nullptr);
  bool ok = rank >= 1 && rank <= 2 && dims[0] >= n && (rank == 1 ? cols == 1 : dims[1] == cols);
  if (ok) {
    const hsize_t start[2] = {0, 0}, count[2] = {n, cols};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    const hid_t mem = H5Screate_simple(rank, count, nullptr);
    ok = H5Dread(ds, static_cast<hid_t>(mem_type), mem, space, H5P_DEFAULT, out) >= 0;
    H5Sclose(mem);
  }
  H5Sclose(space);
  H5Dclose(ds);
  if (!ok)
    fail("has " + std::to_string(dims[0]) + " rows, the checkpoint covers " + std::to_string(n) +
         " (the run file does not belong to this checkpoint?)");
}

std::vector<double> OldRunFile::doubles(const std::string& dataset, std::uint64_t n,
                                        std::uint64_t cols) {
  std::vector<double> v(n * cols);
  read(dataset, H5T_NATIVE_DOUBLE, n, cols, v.data());
  return v;
}

std::vector<std::uint64_t> OldRunFile::u64(const std::string& dataset, std::uint64_t n) {
  std::vector<std::uint64_t> v(n);
  read(dataset, H5T_NATIVE_UINT64, n, 1, v.data());
  return v;
}

std::vector<std::int32_t> OldRunFile::i32(const std::string& dataset, std::uint64_t n) {
  std::vector<std::int32_t> v(n);
  read(dataset, H5T_NATIVE_INT32, n, 1, v.data());
  return v;
}

circuits::CircuitDescription prepare_resume(const std::string& run_path, bool other_args,
                                            const std::string& command_line, RunOptions& opt) {
  if (other_args)
    throw UserError(
        Diagnostic{run_path, 0, 0, "--resume",
                   "--resume continues with the circuit, overrides and output file "
                   "saved in the checkpoint; it takes no FILE, --set, --seed, --threads, "
                   "--out or --force"});
  if (!std::filesystem::exists(run_path))
    throw UserError(Diagnostic{run_path, 0, 0, "--resume", "no such run file"});
  auto info = std::make_shared<CheckpointInfo>(read_checkpoint(checkpoint_path(run_path)));
  namespace fs = std::filesystem;
  if (fs::weakly_canonical(info->run_path) != fs::weakly_canonical(fs::absolute(run_path)))
    throw UserError(Diagnostic{checkpoint_path(run_path), 0, 0, "--resume",
                               "this checkpoint belongs to '" + info->run_path +
                                   "' (run files cannot be moved before resuming)"});
  // Relative paths inside the circuit (stimulus files) and in the overrides mean what they meant
  // when the run started: continue in its working directory.
  std::error_code ec;
  if (!info->cwd.empty() && fs::current_path(ec) != fs::path(info->cwd)) {
    fs::current_path(info->cwd, ec);
    if (ec)
      throw UserError(Diagnostic{
          checkpoint_path(run_path), 0, 0, "--resume",
          "cannot enter the run's working directory '" + info->cwd + "': " + ec.message()});
  }
  // Relative paths inside the circuit (stimulus files) resolve against the original file name.
  circuits::CircuitDescription desc =
      circuits::load_circuit_string(info->circuit_toml, info->circuit_file, info->overrides);
  opt.out_path = info->run_path;
  opt.overrides = info->overrides;
  if (opt.checkpoint_every == 0) opt.checkpoint_every = info->checkpoint_every;
  opt.command_line = info->command_line + "  [resumed after trial " +
                     std::to_string(info->trials_done) + ": " + command_line + "]";
  opt.resume = std::move(info);
  return desc;
}

void check_checkpoint_options(const circuits::CircuitDescription& desc, const RunOptions& opt) {
  if ((opt.checkpoint_every == 0 && !opt.resume) || desc.experiment.type == "category_learning")
    return;
  const std::string why =
      desc.experiment.type == "run"
          ? "checkpoints are taken between trials; experiment 'run' has no trials"
          : "checkpoint/resume is not implemented for experiment '" + desc.experiment.type + "'";
  throw UserError(Diagnostic{desc.file, desc.experiment.pos.line, desc.experiment.pos.column,
                             "--checkpoint-every", why + " (supported: category_learning)"});
}

}  // namespace sbx::app
