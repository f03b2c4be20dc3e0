// HDF5 run file writer. Layout and crash-safety rules: run_file.hpp and ecosystem.md §1.6, §2.4.
//
// Written with the HDF5 C++ API; C calls are used where it has no equivalent (libver bounds,
// SWMR start, hard links, flush, error-stack walk). Under SWMR no group or attribute may be open
// when H5Fstart_swmr_write is called, so groups are always locals and only datasets are members.
// GCC 12 reports a false -Wrestrict inside std::string operator+ once UserError's inline
// formatting (engine/errors.hpp) is inlined here (GCC bug 105651); it is not our code.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include "engine/io/run_file.hpp"

#include <H5Cpp.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <numeric>
#include <optional>
#include <system_error>

#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/io/chunk_codec.hpp"
#include "engine/parallel_items.hpp"

#ifndef SBX_VERSION
#define SBX_VERSION "unknown"
#endif

namespace sbx {

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4), for /meta/circuit_sha256.
namespace {

constexpr std::array<std::uint32_t, 64> kSha256K = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline std::uint32_t rotr(std::uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

void sha256_block(std::array<std::uint32_t, 8>& h, const unsigned char* p) {
  std::uint32_t w[64];
  for (int i = 0; i < 16; ++i)
    w[i] = (std::uint32_t(p[4 * i]) << 24) | (std::uint32_t(p[4 * i + 1]) << 16) |
           (std::uint32_t(p[4 * i + 2]) << 8) | std::uint32_t(p[4 * i + 3]);
  for (int i = 16; i < 64; ++i) {
    const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; ++i) {
    const std::uint32_t t1 =
        hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kSha256K[i] + w[i];
    const std::uint32_t t2 =
        (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::array<std::uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size();
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) sha256_block(h, p + i);
  // Padding: 0x80, zeros, then the bit length as a big-endian 64-bit integer.
  unsigned char tail[128] = {};
  const std::size_t rest = n - i;
  std::memcpy(tail, p + i, rest);
  tail[rest] = 0x80;
  const std::size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
  const std::uint64_t bits = static_cast<std::uint64_t>(n) * 8u;
  for (int k = 0; k < 8; ++k) tail[tail_len - 1 - k] = static_cast<unsigned char>(bits >> (8 * k));
  for (std::size_t k = 0; k < tail_len; k += 64) sha256_block(h, tail + k);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::uint32_t v : h)
    for (int s = 28; s >= 0; s -= 4) out.push_back(hex[(v >> s) & 0xF]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// HDF5 helpers
namespace {

using H5::DataSet;
using H5::DataSpace;
using H5::DataType;
using H5::DSetCreatPropList;
using H5::Group;
using H5::H5Object;
using H5::PredType;

// The innermost descriptions of the current HDF5 error stack (the C++ exception only names the
// outermost call, e.g. "H5Fcreate failed"; the cause is further down).
std::string h5_error_stack() {
  std::string out;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* s = static_cast<std::string*>(data);
        if (e->desc && *e->desc) {
          if (!s->empty()) *s += "; ";
          *s += e->desc;
        }
        return 0;
      },
      &out);
  return out;
}

std::string h5_message(const H5::Exception& e) {
  std::string s = e.getFuncName() + ": " + e.getDetailMsg();
  const std::string stack = h5_error_stack();
  if (!stack.empty()) s += " (" + stack + ")";
  return s;
}

H5::StrType utf8_type() {
  H5::StrType t(PredType::C_S1, H5T_VARIABLE);
  t.setCset(H5T_CSET_UTF8);
  return t;
}

void attr_str(const H5Object& o, const char* name, const std::string& v) {
  const H5::StrType t = utf8_type();
  H5::Attribute a = o.createAttribute(name, t, DataSpace(H5S_SCALAR));
  a.write(t, v);
}

template <class T>
void attr_scalar(const H5Object& o, const char* name, const DataType& file_type,
                 const DataType& mem_type, T v) {
  H5::Attribute a = o.createAttribute(name, file_type, DataSpace(H5S_SCALAR));
  a.write(mem_type, &v);
}

// SONATA spike sorting enum over u8 (libsonata reads it as `enum class Sorting : char`).
H5::EnumType sorting_enum() {
  H5::EnumType t(PredType::STD_U8LE);
  const char* names[3] = {"none", "by_id", "by_time"};
  for (std::uint8_t v = 0; v < 3; ++v) t.insert(names[v], &v);
  return t;
}

void attr_sorting(const H5Object& o, std::uint8_t value) {
  const H5::EnumType t = sorting_enum();
  H5::Attribute a = o.createAttribute("sorting", t, DataSpace(H5S_SCALAR));
  a.write(t, &value);
}

void check_name(const std::string& what, const std::string& name) {
  if (name.empty() || name == "." || name.find('/') != std::string::npos)
    throw InternalError("run file: invalid " + what + " name '" + name +
                        "' (must be non-empty and contain no '/')");
}

// A fixed-size dataset written at once. Large ones are chunked and compressed (edge tables can
// hold millions of rows); small ones stay contiguous.
// The layout of a fixed-size dataset: 1-D ones of 4096 rows or more in chunks of up to 64 Ki rows
// with shuffle + deflate, everything else contiguous.
DSetCreatPropList fixed_layout(const std::vector<hsize_t>& dims, int deflate) {
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  DSetCreatPropList plist;
  if (dims.size() == 1 && total >= 4096 && deflate > 0) {
    const hsize_t chunk = std::min<hsize_t>(total, 65536);
    plist.setChunk(1, &chunk);
    plist.setShuffle();
    plist.setDeflate(deflate);
  }
  return plist;
}

void write_fixed(const Group& g, const std::string& name, const DataType& file_type,
                 const DataType& mem_type, const void* data, std::vector<hsize_t> dims,
                 int deflate) {
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  DataSpace space(static_cast<int>(dims.size()), dims.data());
  DataSet ds = g.createDataSet(name, file_type, space, fixed_layout(dims, deflate));
  if (total > 0) ds.write(data, mem_type);
}

void write_string(const Group& g, const std::string& name, const std::string& v) {
  const H5::StrType t = utf8_type();
  DataSet ds = g.createDataSet(name, t, DataSpace(H5S_SCALAR));
  ds.write(v, t);
}

// Transfer properties for the small appends of a run (a /trials row, a weight snapshot, a spike
// batch). A write whose memory type differs from the file type (double -> float columns,
// compound rows) goes through HDF5's type-conversion buffer, by default 1 MiB allocated and
// zeroed (calloc) on every write: on a category-learning run that was ~ 500 page faults per
// trial and ~ 7 % of the run time, as glibc returned the block to the system after each write.
// A 64 KiB buffer stays in the heap; larger writes are converted in 64 KiB strips by HDF5.
// (Created once and never destroyed: a static H5 object's destructor could run after the HDF5
// library has shut down at exit.)
const H5::DSetMemXferPropList& small_conversion_buffer() {
  static const H5::DSetMemXferPropList* xfer = [] {
    auto* p = new H5::DSetMemXferPropList;
    p->setBuffer(std::size_t{64} << 10, nullptr, nullptr);
    return p;
  }();
  return *xfer;
}

// Rows [first, first + count) of a 1-D dataset from `data` (of type mem_type).
void write_rows_1d(const DataSet& ds, hsize_t first, hsize_t count, const void* data,
                   const DataType& mem_type) {
  DataSpace file_space = ds.getSpace();
  file_space.selectHyperslab(H5S_SELECT_SET, &count, &first);
  DataSpace mem(1, &count);
  ds.write(data, mem_type, mem, file_space, small_conversion_buffer());
}

// A whole chunk, already filtered (engine/io/chunk_codec.hpp), stored at row `first_row`.
void write_filtered_chunk(const DataSet& ds, hsize_t first_row,
                          const std::vector<std::uint8_t>& bytes) {
  if (H5Dwrite_chunk(ds.getId(), H5P_DEFAULT, 0, &first_row, bytes.size(), bytes.data()) < 0)
    throw H5::DataSetIException("H5Dwrite_chunk", "cannot write a chunk");
}

// One 8-byte column of a fixed-size table (the /edges datasets), filled in blocks of any size and
// stored a chunk at a time: chunked datasets (fixed_layout: shuffle + deflate) get whole chunks
// filtered here and written with H5Dwrite_chunk (why: engine/io/chunk_codec.hpp); the last chunk
// is padded with zeros, the fill value HDF5 pads it with. A chunk equal to the column's previous
// one reuses its stored bytes (edge_type_id and edge_group_id are all 0, weights and delays often
// one value per connection). Contiguous (small) datasets are written by hyperslab. Values are
// stored as the file's little-endian 8-byte type.
// Per block: put() (no HDF5 call; columns on any threads), then find_repeats() and the
// deflate_chunk() of each compress_item() (any threads), then write_pending() (HDF5, one thread).
class ColumnWriter {
 public:
  ColumnWriter(DataSet ds, hsize_t n_rows, int deflate)
      : ds_(std::move(ds)), n_rows_(n_rows), level_(deflate) {
    const DSetCreatPropList plist = ds_.getCreatePlist();
    hsize_t chunk = std::max<hsize_t>(n_rows_, 1);  // contiguous: one "chunk"
    if (plist.getLayout() == H5D_CHUNKED) {
      plist.getChunk(1, &chunk);
      // The chunks are made for exactly the pipeline fixed_layout sets; anything else would be
      // stored with the wrong filters.
      bool pipeline = plist.getNfilters() == 2;
      for (int k = 0; k < 2 && pipeline; ++k) {
        unsigned flags = 0, config = 0;
        std::size_t n_cd = 0;
        char name[16];
        pipeline = plist.getFilter(k, flags, n_cd, nullptr, sizeof name, name, config) ==
                   (k == 0 ? H5Z_FILTER_SHUFFLE : H5Z_FILTER_DEFLATE);
      }
      if (!pipeline || deflate < 1)
        throw InternalError("run file: a chunked edge column without shuffle + deflate");
      filtered_ = true;
    }
    chunk_rows_ = static_cast<std::size_t>(std::min(chunk, std::max<hsize_t>(n_rows_, 1)));
  }
  // Appends `count` values, each converted to the column's 8-byte type (u32 -> u64, f32 -> f64
  // exactly, 8-byte types as they are); whole chunks are staged.
  template <class T, class File>
  void put(const T* values, std::size_t count) {
    static_assert(sizeof(File) == 8 && std::endian::native == std::endian::little);
    for (std::size_t k = 0; k < count;) {
      if (buf_.empty()) buf_.assign(chunk_rows_, 0);
      const std::size_t take = std::min(chunk_rows_ - filled_, count - k);
      for (std::size_t j = 0; j < take; ++j) {
        const File v = static_cast<File>(values[k + j]);
        std::memcpy(&buf_[filled_ + j], &v, 8);
      }
      filled_ += take;
      k += take;
      if (filled_ == chunk_rows_ || first_row_ + filled_ == n_rows_) stage();
    }
  }
  // Marks staged chunks equal to the chunk before them, and returns how many need compressing:
  // compress_item(0 ... n - 1) compresses them (each on any thread).
  std::size_t find_repeats() {
    to_compress_.clear();
    if (!filtered_) return 0;
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      const std::vector<std::uint64_t>& prev = i > 0 ? pending_[i - 1].raw : last_raw_;
      pending_[i].repeat = prev == pending_[i].raw;
      if (!pending_[i].repeat) to_compress_.push_back(i);
    }
    return to_compress_.size();
  }
  void compress_item(std::size_t i) {
    Pending& p = pending_[to_compress_[i]];
    io::deflate_chunk(p.raw.data(), p.raw.size() * 8, 8, level_, p.bytes);
  }
  // Writes what was staged (call on the thread that owns the file).
  void write_pending() {
    for (Pending& p : pending_) {
      if (filtered_) {
        if (p.repeat) p.bytes = last_bytes_;
        write_filtered_chunk(ds_, p.first_row, p.bytes);
        last_bytes_ = std::move(p.bytes);
        last_raw_ = std::move(p.raw);
      } else {
        write_rows_1d(ds_, p.first_row, p.rows, p.raw.data(), ds_.getDataType());
      }
    }
    pending_.clear();
  }

 private:
  struct Pending {
    hsize_t first_row = 0, rows = 0;
    std::vector<std::uint64_t> raw;   // the chunk (padded) or the rows (contiguous dataset)
    std::vector<std::uint8_t> bytes;  // its stored bytes (filtered datasets)
    bool repeat = false;              // equal to the chunk before: the same stored bytes
  };
  void stage() {
    if (filtered_)
      std::fill(buf_.begin() + static_cast<std::ptrdiff_t>(filled_), buf_.end(), 0);
    else
      buf_.resize(filled_);
    pending_.push_back(Pending{first_row_, filled_, std::move(buf_), {}, false});
    buf_.clear();
    first_row_ += filled_;
    filled_ = 0;
  }

  DataSet ds_;
  hsize_t n_rows_ = 0, first_row_ = 0;
  int level_ = 0;
  bool filtered_ = false;
  std::size_t chunk_rows_ = 1;
  std::vector<std::uint64_t> buf_;
  std::size_t filled_ = 0;
  std::vector<Pending> pending_;
  std::vector<std::size_t> to_compress_;
  std::vector<std::uint64_t> last_raw_;  // the last chunk written, and its stored bytes
  std::vector<std::uint8_t> last_bytes_;
};

// An extendible dataset growing along axis 0 (rank 1, or rank 2 with `cols` columns).
struct Growing {
  DataSet ds;
  DataType mem_type;
  int rank = 1;
  hsize_t cols = 1;
  hsize_t rows = 0;

  void create(const Group& g, const std::string& name, const DataType& file_type,
              const DataType& mem, int rank_, hsize_t cols_, hsize_t chunk_rows, hsize_t chunk_cols,
              int deflate) {
    mem_type = mem;
    rank = rank_;
    cols = rank_ == 2 ? cols_ : 1;
    const hsize_t dims[2] = {0, cols};
    // A zero-width 2-D dataset cannot have a fixed zero maximum with a non-zero chunk.
    const hsize_t maxdims[2] = {H5S_UNLIMITED, cols == 0 ? H5S_UNLIMITED : cols};
    DataSpace space(rank, dims, maxdims);
    DSetCreatPropList plist;
    const hsize_t chunk[2] = {std::max<hsize_t>(chunk_rows, 1), std::max<hsize_t>(chunk_cols, 1)};
    plist.setChunk(rank, chunk);
    if (deflate > 0) {
      plist.setShuffle();
      plist.setDeflate(deflate);
      // The last, partly filled chunk is stored unfiltered and compressed once, when the
      // dataset's extension makes it whole (HDF5 >= 1.10). Why: a growing dataset is appended
      // to and flushed often (spikes and weight snapshots every trial), and its partial chunk
      // was shuffled and deflated again at every flush — a third of the category job's HDF5
      // time (BENCHMARKS.md "Session 14"). Readers see no difference.
      if (H5Pset_chunk_opts(plist.getId(), H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) < 0)
        throw H5::PropListIException("H5Pset_chunk_opts", "cannot set the chunk options");
    }
    ds = g.createDataSet(name, file_type, space, plist);
  }

  void append(const void* data, hsize_t n) { append_as(data, n, mem_type); }
  // The same from memory of another type (HDF5 converts, e.g. f32 weights into an f64 dataset).
  void append_as(const void* data, hsize_t n, const DataType& mem) {
    if (n == 0) return;
    const hsize_t new_dims[2] = {rows + n, cols};
    ds.extend(new_dims);
    if (cols > 0) {
      DataSpace file_space = ds.getSpace();
      const hsize_t start[2] = {rows, 0};
      const hsize_t count[2] = {n, cols};
      file_space.selectHyperslab(H5S_SELECT_SET, count, start);
      DataSpace mem_space(rank, count);
      ds.write(data, mem, mem_space, file_space, small_conversion_buffer());
    }
    rows += n;
  }
};

// A growing 1-D column of 8-byte values (a population's spike times or node ids), created like a
// Growing 1-D dataset (chunked, shuffle + deflate, the partly filled last chunk stored unfiltered)
// but whose whole chunks are filtered by io::deflate_chunk and written with H5Dwrite_chunk. Why:
// prepare() touches no HDF5 object, so the columns of a flush can be compressed on several
// threads (RunFileOptions::threads); commit() makes the HDF5 calls, on one thread. The rows of the
// chunk not yet whole are kept here and written as they are (HDF5 stores that partial chunk
// unfiltered); when later rows complete it, the filtered whole chunk replaces it. The stored
// chunks are the bytes HDF5's own filters would store (chunk_codec.hpp).
class SpikeColumn {
 public:
  void create(const Group& g, const std::string& name, const DataType& file_type,
              const DataType& mem_type, hsize_t chunk_rows, int deflate) {
    growing_.create(g, name, file_type, mem_type, 1, 1, chunk_rows, 1, deflate);
    chunk_ = chunk_rows;
    level_ = deflate;
  }
  DataSet& dataset() { return growing_.ds; }

  // Takes n values (8 bytes each, the file's little-endian type) and filters the chunks they
  // complete.
  void prepare(const void* values, std::size_t n) {
    static_assert(std::endian::native == std::endian::little);
    const auto* v = static_cast<const std::uint64_t*>(values);
    std::size_t k = 0;
    while (k < n) {
      const std::size_t take = std::min<std::size_t>(chunk_ - tail_.size(), n - k);
      tail_.insert(tail_.end(), v + k, v + k + take);
      k += take;
      if (tail_.size() < chunk_) break;
      Pending p{tail_first_, {}, level_ > 0};
      if (p.filtered) {
        io::deflate_chunk(tail_.data(), tail_.size() * 8, 8, level_, p.bytes);
      } else {
        const auto* raw = reinterpret_cast<const std::uint8_t*>(tail_.data());
        p.bytes.assign(raw + tail_written_ * 8, raw + tail_.size() * 8);
        p.first_row += tail_written_;
      }
      staged_.push_back(std::move(p));
      tail_first_ += chunk_;
      tail_.clear();
      tail_written_ = 0;
    }
    new_rows_ += n;
  }

  // Extends the dataset by the prepared rows, writes the filtered chunks and the new rows of the
  // partial chunk.
  void commit() {
    if (new_rows_ == 0) return;
    const hsize_t total = growing_.rows + new_rows_;
    growing_.ds.extend(&total);
    for (const Pending& p : staged_) {
      if (p.filtered)
        write_filtered_chunk(growing_.ds, p.first_row, p.bytes);
      else
        write_rows_1d(growing_.ds, p.first_row, p.bytes.size() / 8, p.bytes.data(),
                      growing_.mem_type);
    }
    staged_.clear();
    if (tail_.size() > tail_written_) {
      write_rows_1d(growing_.ds, tail_first_ + tail_written_, tail_.size() - tail_written_,
                    tail_.data() + tail_written_, growing_.mem_type);
      tail_written_ = tail_.size();
    }
    growing_.rows = total;
    new_rows_ = 0;
  }

 private:
  struct Pending {
    hsize_t first_row;
    std::vector<std::uint8_t> bytes;  // a filtered whole chunk, or raw rows
    bool filtered;
  };
  Growing growing_;
  hsize_t chunk_ = 1;
  int level_ = 0;                    // deflate level; 0 = no filters
  std::vector<std::uint64_t> tail_;  // rows tail_first_ ... of the chunk not yet whole
  hsize_t tail_first_ = 0;
  std::size_t tail_written_ = 0;  // of them already in the file
  hsize_t new_rows_ = 0;          // prepared, not committed
  std::vector<Pending> staged_;
};

std::string iso8601_utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string hdf5_version_string() {
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  return std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel);
}

H5::CompType trial_mem_type() {
  H5::CompType t(sizeof(TrialRow));
  t.insertMember("trial", offsetof(TrialRow, trial), PredType::NATIVE_UINT32);
  t.insertMember("start_time", offsetof(TrialRow, start_time), PredType::NATIVE_DOUBLE);
  t.insertMember("stop_time", offsetof(TrialRow, stop_time), PredType::NATIVE_DOUBLE);
  t.insertMember("stimulus", offsetof(TrialRow, stimulus), PredType::NATIVE_UINT32);
  t.insertMember("category", offsetof(TrialRow, category), PredType::NATIVE_UINT8);
  t.insertMember("action", offsetof(TrialRow, action), PredType::NATIVE_INT8);
  t.insertMember("correct", offsetof(TrialRow, correct), PredType::NATIVE_UINT8);
  t.insertMember("reward", offsetof(TrialRow, reward), PredType::NATIVE_DOUBLE);
  t.insertMember("dopamine", offsetof(TrialRow, dopamine), PredType::NATIVE_DOUBLE);
  t.insertMember("rpe", offsetof(TrialRow, rpe), PredType::NATIVE_DOUBLE);
  t.insertMember("decision_time", offsetof(TrialRow, decision_time), PredType::NATIVE_DOUBLE);
  t.insertMember("striosome_1", offsetof(TrialRow, striosome_1), PredType::NATIVE_DOUBLE);
  t.insertMember("striosome_2", offsetof(TrialRow, striosome_2), PredType::NATIVE_DOUBLE);
  t.insertMember("tan_rate_1", offsetof(TrialRow, tan_rate_1), PredType::NATIVE_DOUBLE);
  t.insertMember("tan_rate_2", offsetof(TrialRow, tan_rate_2), PredType::NATIVE_DOUBLE);
  t.insertMember("tan_spikes_1", offsetof(TrialRow, tan_spikes_1), PredType::NATIVE_DOUBLE);
  t.insertMember("tan_spikes_2", offsetof(TrialRow, tan_spikes_2), PredType::NATIVE_DOUBLE);
  t.insertMember("drive_1", offsetof(TrialRow, drive_1), PredType::NATIVE_DOUBLE);
  t.insertMember("drive_2", offsetof(TrialRow, drive_2), PredType::NATIVE_DOUBLE);
  return t;
}

// Packed little-endian file types, built separately from the memory types (copying a DataType
// shares its handle, so packing a copy would also pack the memory type: ecosystem.md §2.2).
struct Field {
  const char* name;
  const PredType* type;
};
H5::CompType packed_type(std::initializer_list<Field> fields) {
  std::size_t size = 0;
  for (const Field& f : fields) size += f.type->getSize();
  H5::CompType t(size);
  std::size_t off = 0;
  for (const Field& f : fields) {
    t.insertMember(f.name, off, *f.type);
    off += f.type->getSize();
  }
  return t;
}

H5::CompType trial_file_type() {
  return packed_type({{"trial", &PredType::STD_U32LE},
                      {"start_time", &PredType::IEEE_F64LE},
                      {"stop_time", &PredType::IEEE_F64LE},
                      {"stimulus", &PredType::STD_U32LE},
                      {"category", &PredType::STD_U8LE},
                      {"action", &PredType::STD_I8LE},
                      {"correct", &PredType::STD_U8LE},
                      {"reward", &PredType::IEEE_F64LE},
                      {"dopamine", &PredType::IEEE_F64LE},
                      {"rpe", &PredType::IEEE_F64LE},
                      {"decision_time", &PredType::IEEE_F64LE},
                      {"striosome_1", &PredType::IEEE_F64LE},
                      {"striosome_2", &PredType::IEEE_F64LE},
                      {"tan_rate_1", &PredType::IEEE_F64LE},
                      {"tan_rate_2", &PredType::IEEE_F64LE},
                      {"tan_spikes_1", &PredType::IEEE_F64LE},
                      {"tan_spikes_2", &PredType::IEEE_F64LE},
                      {"drive_1", &PredType::IEEE_F64LE},
                      {"drive_2", &PredType::IEEE_F64LE}});
}

H5::CompType episode_mem_type() {
  H5::CompType t(sizeof(EpisodeRow));
  t.insertMember("episode", offsetof(EpisodeRow, episode), PredType::NATIVE_UINT32);
  t.insertMember("return", offsetof(EpisodeRow, ret), PredType::NATIVE_DOUBLE);
  t.insertMember("length", offsetof(EpisodeRow, length), PredType::NATIVE_UINT32);
  t.insertMember("terminated", offsetof(EpisodeRow, terminated), PredType::NATIVE_UINT8);
  t.insertMember("truncated", offsetof(EpisodeRow, truncated), PredType::NATIVE_UINT8);
  return t;
}

H5::CompType episode_file_type() {
  return packed_type({{"episode", &PredType::STD_U32LE},
                      {"return", &PredType::IEEE_F64LE},
                      {"length", &PredType::STD_U32LE},
                      {"terminated", &PredType::STD_U8LE},
                      {"truncated", &PredType::STD_U8LE}});
}

// 8 KiB chunks: every flush recompresses the partly filled last chunk, so per-trial flushing
// favours smaller chunks than the 128 KiB of ecosystem.md §2.3. (Measured with callgrind on the
// category run, two flushes per 1-s trial: 4096-entry chunks spent 6 % of the run in deflate.)
constexpr std::size_t kSpikeChunk = 1024;
constexpr std::size_t kSpikeBufferMax = 65536;  // write (without file flush) beyond this
constexpr std::uint8_t kSortingNone = 0;
constexpr std::uint8_t kSortingByTime = 2;

}  // namespace

// ---------------------------------------------------------------------------------------------
struct RunFile::Impl {
  struct SpikePop {
    std::string name;
    std::uint64_t n_nodes = 0;
    SpikeColumn timestamps, node_ids;
    std::vector<double> buf_t;
    std::vector<std::uint64_t> buf_id;
    double last_written = -std::numeric_limits<double>::infinity();
    bool by_time = true;
  };
  struct Report {
    std::string name;
    std::size_t width = 0;  // K
    double t0 = 0.0, dt = 0.0;
    std::uint64_t n_samples = 0;  // written + buffered
    std::vector<float> buf;
    hsize_t chunk_rows = 1;
    Growing data;
    DataSet time;
  };
  struct Edge {
    std::string name;
    std::size_t n_edges = 0;
    bool snapshots = false;
    bool timed = false;  // enable_weight_snapshots(): a time_ms row per snapshot
    Growing values, after_trial, time_ms;
    // /weights/<edge>/values (snapshots x edges, f64) and after_trial, empty, in group g.
    void create_snapshots(const Group& g, int deflate) {
      const hsize_t n = n_edges;
      values.create(g, "values", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE, 2, n, 1,
                    std::min<hsize_t>(std::max<hsize_t>(n, 1), 65536), deflate);
      after_trial.create(g, "after_trial", PredType::STD_I32LE, PredType::NATIVE_INT32, 1, 1, 256,
                         1, deflate);
    }
  };

  std::string path;
  // Until start() the file is written under this sibling name and only then renamed to `path`,
  // so bad input found while the run is being set up (an exception before start()) leaves no
  // half-written file behind and, with --force, the existing file untouched. Empty once committed.
  std::string staging;
  TimeGrid grid;
  RunFileOptions opt;
  H5::H5File file;
  bool started = false, finished = false, meta_written = false;
  std::vector<SpikePop> pops;
  std::vector<int> pop_of;  // simulator population id -> index in pops (-1: not recorded)
  std::vector<Report> reports;
  std::vector<int> report_of;  // simulator probe id -> index in reports
  std::vector<Edge> edges;
  bool trials_enabled = false, episodes_enabled = false;
  Growing trials, episodes;
  bool steps_enabled = false;
  Growing steps;
  std::size_t step_values = 0;          // named f8 columns after the fixed ones
  std::vector<unsigned char> step_buf;  // packed rows of one append_steps call
  // A compound dataset whose rows are buffered between flushes (/synapses/<name>,
  // /modulators/<name>).
  template <class Row>
  struct BufferedRows {
    Growing rows;
    std::vector<Row> buf;
    void write() {
      rows.append(buf.data(), buf.size());
      buf.clear();
    }
  };
  // Buffers `row` for log `id` of `logs` (what: the caller, for messages).
  template <class Row>
  void buffer_row(std::vector<BufferedRows<Row>>& logs, std::uint32_t id, const Row& row,
                  const char* what) {
    require_open(what);
    if (id >= logs.size())
      throw InternalError(std::string("run file: ") + what + " on unknown id " +
                          std::to_string(id));
    logs[id].buf.push_back(row);
  }
  std::vector<BufferedRows<SynapseSampleRow>> synapse_probes;
  std::vector<BufferedRows<ModulatorChangeRow>> modulator_logs;
  std::size_t adjacency_n = 0;
  bool adjacency_set = false;
  DataSet adjacency_after;

  Impl(std::string p, TimeGrid g, RunFileOptions o) : path(std::move(p)), grid(g), opt(o) {}

  // A run that never started: close and delete the partial file (never throws).
  void discard_partial() noexcept {
    try {
      close_all();
    } catch (...) {
    }
    std::error_code ec;
    std::filesystem::remove(staging, ec);
  }

  [[noreturn]] void fail(const char* what, const H5::Exception& e) const {
    throw SimError("run file '" + path + "': " + what + ": " + h5_message(e));
  }

  void require_declaring(const char* what) const {
    if (finished) throw InternalError(std::string("run file: ") + what + " after finish()");
    if (started)
      throw InternalError(std::string("run file: ") + what +
                          " after start() (SWMR forbids creating objects mid-run)");
  }
  void require_open(const char* what) const {
    if (finished) throw InternalError(std::string("run file: ") + what + " after finish()");
  }

  Group group(const std::string& p) const { return file.openGroup(p); }
  Group ensure_group(const std::string& p) {
    if (file.nameExists(p)) return file.openGroup(p);
    return file.createGroup(p);
  }

  // Sorts the population's buffered spikes by time (the engine emits them in time order; this is
  // defensive, and stable: ids of ties keep their order).
  static void order_spikes(SpikePop& sp) {
    if (std::is_sorted(sp.buf_t.begin(), sp.buf_t.end())) return;
    std::vector<std::size_t> idx(sp.buf_t.size());
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::size_t a, std::size_t b) { return sp.buf_t[a] < sp.buf_t[b]; });
    std::vector<double> t(idx.size());
    std::vector<std::uint64_t> id(idx.size());
    for (std::size_t k = 0; k < idx.size(); ++k) {
      t[k] = sp.buf_t[idx[k]];
      id[k] = sp.buf_id[idx[k]];
    }
    sp.buf_t.swap(t);
    sp.buf_id.swap(id);
  }

  // item(0) ... item(n - 1) on the lent threads, or on up to opt.threads of our own.
  Recorder::Parallel lent;
  void run_items(std::size_t n, const std::function<void(std::size_t)>& item) {
    if (lent)
      lent(n, item);
    else
      parallel_items(n, opt.threads, item);
  }

  // Writes the buffered spikes of `list` (populations with none are skipped): the columns are
  // compressed as items (run_items), then written here.
  void write_spikes(std::span<SpikePop* const> list) {
    std::vector<SpikePop*> todo;
    for (SpikePop* sp : list)
      if (!sp->buf_t.empty()) {
        order_spikes(*sp);
        if (sp->buf_t.front() < sp->last_written) sp->by_time = false;
        sp->last_written = sp->buf_t.back();
        todo.push_back(sp);
      }
    if (todo.empty()) return;
    run_items(2 * todo.size(), [&](std::size_t c) {
      SpikePop& sp = *todo[c / 2];
      if (c % 2 == 0)
        sp.node_ids.prepare(sp.buf_id.data(), sp.buf_id.size());
      else
        sp.timestamps.prepare(sp.buf_t.data(), sp.buf_t.size());
    });
    for (SpikePop* sp : todo) {
      // node_ids first: a reader taking min(len) of the two never sees a time without its id.
      sp->node_ids.commit();
      sp->timestamps.commit();
      sp->buf_t.clear();
      sp->buf_id.clear();
    }
  }
  void write_spikes(SpikePop& sp) {
    SpikePop* one[1] = {&sp};
    write_spikes(one);
  }

  void write_report(Report& r) {
    const hsize_t rows = r.width ? r.buf.size() / r.width : 0;
    if (rows == 0) return;
    r.data.append(r.buf.data(), rows);
    r.buf.clear();
    // time = [start, stop, step]; the interval is open at stop.
    const double t[3] = {r.t0, r.t0 + static_cast<double>(r.data.rows) * r.dt, r.dt};
    r.time.write(t, PredType::NATIVE_DOUBLE);
  }

  void write_buffers() {
    std::vector<SpikePop*> all;
    for (SpikePop& sp : pops) all.push_back(&sp);
    write_spikes(all);
    for (Report& r : reports) write_report(r);
    for (auto& sp : synapse_probes) sp.write();
    for (auto& ml : modulator_logs) ml.write();
  }

  void flush_file() {
    if (H5Fflush(file.getId(), H5F_SCOPE_GLOBAL) < 0)
      throw SimError("run file '" + path + "': H5Fflush failed (" + h5_error_stack() + ")");
  }

  void close_all() {
    for (SpikePop& sp : pops) {
      sp.timestamps.dataset().close();
      sp.node_ids.dataset().close();
    }
    for (Report& r : reports) {
      r.data.ds.close();
      r.time.close();
    }
    for (Edge& e : edges) {
      if (!e.snapshots) continue;
      e.values.ds.close();
      e.after_trial.ds.close();
    }
    if (trials_enabled) trials.ds.close();
    if (episodes_enabled) episodes.ds.close();
    if (steps_enabled) steps.ds.close();
    for (auto& sp : synapse_probes) sp.rows.ds.close();
    for (auto& ml : modulator_logs) ml.rows.ds.close();
    if (adjacency_set) adjacency_after.close();
    file.close();
  }
};

// ---------------------------------------------------------------------------------------------
void RunFile::check_target(const std::string& path, bool force, bool create_dirs) {
  namespace fs = std::filesystem;
  auto fail = [&](const std::string& msg) { throw UserError(Diagnostic{path, 0, 0, "", msg}); };
  if (path.empty()) throw UserError("output path is empty");
  const fs::path p(path);
  // "runs/" names a folder: it was created, then reported as an existing run file
  if (!p.has_filename() || p.filename() == "." || p.filename() == "..")
    fail("names a directory, not a file; give a file name such as run.h5");
  std::error_code ec;
  const fs::file_status st = fs::status(p, ec);
  if (fs::exists(st)) {
    if (fs::is_directory(st)) fail("is a directory; give a file name such as run.h5");
    if (!force)
      fail("run file already exists; pass --force to overwrite it or choose another output path");
  }
  fs::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  ec.clear();
  const fs::file_status dst = fs::status(dir, ec);
  if (!fs::exists(dst) && !create_dirs) {
    // Checked again (and created) when the file is: here only that it can be made at all.
    fs::path up = dir;
    while (!up.empty() && !fs::exists(up, ec)) up = up.parent_path();
    if (!up.empty() && !fs::is_directory(up, ec)) fail("'" + up.string() + "' is not a directory");
    return;
  }
  if (!fs::exists(dst)) {
    ec.clear();
    fs::create_directories(dir, ec);
    if (ec) fail("cannot create directory '" + dir.string() + "': " + ec.message());
  } else if (!fs::is_directory(dst)) {
    fail("'" + dir.string() + "' is not a directory");
  }
  // access(W_OK) is always true for root; creating a file is the real test.
  const std::string probe = (dir / (".sbx_write_test_" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    const int err = errno;
    fail("directory '" + dir.string() + "' is not writable: " + std::strerror(err));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  struct statvfs sv {};
  if (::statvfs(dir.c_str(), &sv) == 0) {
    const unsigned long long avail =
        static_cast<unsigned long long>(sv.f_bavail) * static_cast<unsigned long long>(sv.f_frsize);
    if (avail < (1ull << 20))
      fail("only " + std::to_string(avail) + " bytes free in '" + dir.string() +
           "' (need at least 1 MiB)");
  }
}

RunFile::RunFile(const std::string& path, TimeGrid grid, RunFileOptions opt)
    : impl_(std::make_unique<Impl>(path, grid, opt)) {
  check_target(path, opt.force);
  H5::Exception::dontPrint();  // errors become C++ exceptions with the HDF5 message attached
  Impl& im = *impl_;
  im.staging = path + ".partial-" + std::to_string(::getpid());
  try {
    H5::FileAccPropList fapl;
    if (opt.swmr) H5Pset_libver_bounds(fapl.getId(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    im.file = H5::H5File(im.staging, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, fapl);
  } catch (const H5::Exception& e) {
    throw UserError(Diagnostic{path, 0, 0, "", "cannot create the HDF5 file: " + h5_message(e)});
  }
  try {
    const Group root = im.group("/");
    attr_scalar<std::uint32_t>(root, "magic", PredType::STD_U32LE, PredType::NATIVE_UINT32, 0x0A7A);
    const hsize_t two = 2;
    const std::uint32_t version[2] = {0, 1};
    H5::Attribute a = root.createAttribute("version", PredType::STD_U32LE, DataSpace(1, &two));
    a.write(PredType::NATIVE_UINT32, version);
    a.close();
    const Group meta = im.file.createGroup("meta");
    attr_str(meta, "format", "spikeblox-run/1");
    attr_str(meta, "simulator", "spikeblox");
    attr_str(meta, "created", iso8601_utc_now());
    attr_str(meta, "hdf5_version", hdf5_version_string());
    attr_str(meta, "time_units", "ms");
    attr_scalar<double>(meta, "tick_ms", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE,
                        grid.tick_ms());
  } catch (const H5::Exception& e) {
    im.discard_partial();  // no destructor runs for a half-constructed object
    im.fail("writing the root attributes", e);
  }
}

RunFile::~RunFile() {
  if (!impl_ || impl_->finished) return;
  if (!impl_->staging.empty()) {  // never started: set-up failed, nothing of it is kept
    impl_->discard_partial();
    return;
  }
  try {
    impl_->write_buffers();
    impl_->close_all();
  } catch (...) {
    // Destructors must not throw; the data up to the last flush() is on disk.
  }
}

const std::string& RunFile::path() const {
  return impl_->path;
}

void RunFile::write_meta(const RunMeta& meta) {
  Impl& im = *impl_;
  im.require_declaring("write_meta");
  if (im.meta_written) throw InternalError("run file: write_meta called twice");
  try {
    const Group g = im.group("meta");
    attr_str(g, "simulator_version",
             meta.version.empty() ? std::string(SBX_VERSION) : meta.version);
    attr_scalar<std::uint64_t>(g, "seed", PredType::STD_U64LE, PredType::NATIVE_UINT64, meta.seed);
    write_string(g, "circuit_toml", meta.circuit_toml);
    write_string(g, "circuit_sha256", sha256_hex(meta.circuit_toml));
    write_string(g, "resolved_config_json", meta.resolved_config_json);
    write_string(g, "command_line", meta.command_line);
    write_string(g, "circuit_file", meta.circuit_file);
  } catch (const H5::Exception& e) {
    im.fail("writing /meta", e);
  }
  im.meta_written = true;
}

void RunFile::add_spike_population(std::uint32_t population_id, const std::string& name,
                                   std::uint64_t n_nodes, const std::string& block_type) {
  Impl& im = *impl_;
  im.require_declaring("add_spike_population");
  check_name("population", name);
  if (population_id < im.pop_of.size() && im.pop_of[population_id] >= 0)
    throw InternalError("run file: population id " + std::to_string(population_id) +
                        " declared twice");
  Impl::SpikePop sp;
  sp.name = name;
  sp.n_nodes = n_nodes;
  add_node_population(name, n_nodes, block_type, population_id);
  try {
    im.ensure_group("spikes");
    const Group sg = im.file.createGroup("spikes/" + name);
    attr_sorting(sg, kSortingByTime);
    sp.timestamps.create(sg, "timestamps", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE,
                         kSpikeChunk, im.opt.deflate);
    attr_str(sp.timestamps.dataset(), "units", "ms");
    sp.node_ids.create(sg, "node_ids", PredType::STD_U64LE, PredType::NATIVE_UINT64, kSpikeChunk,
                       im.opt.deflate);
  } catch (const H5::Exception& e) {
    im.fail(("declaring population '" + name + "'").c_str(), e);
  }
  if (population_id >= im.pop_of.size()) im.pop_of.resize(population_id + 1, -1);
  im.pop_of[population_id] = static_cast<int>(im.pops.size());
  im.pops.push_back(std::move(sp));
}

void RunFile::add_node_population(const std::string& name, std::uint64_t n_nodes,
                                  const std::string& block_type, std::uint32_t node_type_id) {
  Impl& im = *impl_;
  im.require_declaring("add_node_population");
  check_name("population", name);
  try {
    im.ensure_group("nodes");
    if (im.file.nameExists("nodes/" + name))
      throw InternalError("run file: node population '" + name + "' declared twice");
    const Group ng = im.file.createGroup("nodes/" + name);
    attr_str(ng, "block_type", block_type);
    const std::vector<std::int64_t> type_id(n_nodes, static_cast<std::int64_t>(node_type_id));
    const std::vector<std::int64_t> group_id(n_nodes, 0);
    std::vector<std::int64_t> group_index(n_nodes);
    std::iota(group_index.begin(), group_index.end(), std::int64_t{0});
    write_fixed(ng, "node_type_id", PredType::STD_I64LE, PredType::NATIVE_INT64, type_id.data(),
                {n_nodes}, im.opt.deflate);
    write_fixed(ng, "node_group_id", PredType::STD_I64LE, PredType::NATIVE_INT64, group_id.data(),
                {n_nodes}, im.opt.deflate);
    write_fixed(ng, "node_group_index", PredType::STD_I64LE, PredType::NATIVE_INT64,
                group_index.data(), {n_nodes}, im.opt.deflate);
    ng.createGroup("0");  // the node group every node_group_id refers to
  } catch (const H5::Exception& e) {
    im.fail(("declaring nodes '" + name + "'").c_str(), e);
  }
}

void RunFile::add_report(std::uint32_t probe_id, const std::string& population,
                         const std::string& variable, const std::string& units,
                         std::vector<std::uint64_t> node_ids, double t0_ms, double dt_ms) {
  Impl& im = *impl_;
  im.require_declaring("add_report");
  check_name("population", population);
  if (probe_id < im.report_of.size() && im.report_of[probe_id] >= 0)
    throw InternalError("run file: probe id " + std::to_string(probe_id) + " declared twice");
  if (node_ids.empty())
    throw InternalError("run file: report of '" + population + "' has no nodes");
  if (!(dt_ms > 0.0) || !std::isfinite(dt_ms))
    throw InternalError("run file: report sampling step must be positive, got " +
                        std::to_string(dt_ms));
  Impl::Report r;
  r.width = node_ids.size();
  r.t0 = t0_ms;
  r.dt = dt_ms;
  try {
    im.ensure_group("report");
    std::string name = population;
    if (im.file.nameExists("report/" + name)) name = population + "__" + variable;
    if (im.file.nameExists("report/" + name)) name += "__" + std::to_string(probe_id);
    check_name("report", name);
    r.name = name;
    const Group g = im.file.createGroup("report/" + name);
    attr_str(g, "population", population);
    attr_str(g, "variable", variable);
    // Chunks of <= 256 KiB: up to 1024 rows of K float32. Smaller than the 1 MiB chunk cache
    // because every flush recompresses the partly filled last chunk.
    const hsize_t K = r.width;
    const hsize_t chunk_cols = std::min<hsize_t>(K, 65536);
    r.chunk_rows = std::clamp<hsize_t>(65536 / chunk_cols, 1, 1024);
    r.data.create(g, "data", PredType::IEEE_F32LE, PredType::NATIVE_FLOAT, 2, K, r.chunk_rows,
                  chunk_cols, im.opt.deflate);
    attr_str(r.data.ds, "units", units);
    attr_str(r.data.ds, "variable", variable);

    const Group m = g.createGroup("mapping");
    DataSet ids = m.createDataSet("node_ids", PredType::STD_U64LE, DataSpace(1, &K));
    ids.write(node_ids.data(), PredType::NATIVE_UINT64);
    attr_scalar<std::uint8_t>(ids, "sorted", PredType::STD_U8LE, PredType::NATIVE_UINT8,
                              std::is_sorted(node_ids.begin(), node_ids.end()) ? 1 : 0);
    ids.close();
    // One element per node: index_pointers has K + 1 entries (libsonata checks this).
    std::vector<std::uint64_t> ptr(K + 1);
    std::iota(ptr.begin(), ptr.end(), std::uint64_t{0});
    const hsize_t K1 = K + 1;
    write_fixed(m, "index_pointers", PredType::STD_U64LE, PredType::NATIVE_UINT64, ptr.data(), {K1},
                0);
    // bmtk 1.0.6 reads the singular name; a hard link costs nothing.
    if (H5Lcreate_hard(m.getId(), "index_pointers", m.getId(), "index_pointer", H5P_DEFAULT,
                       H5P_DEFAULT) < 0)
      throw SimError("run file '" + im.path + "': H5Lcreate_hard failed");
    const std::vector<std::uint32_t> element_ids(K, 0);
    write_fixed(m, "element_ids", PredType::STD_U32LE, PredType::NATIVE_UINT32, element_ids.data(),
                {K}, 0);
    const std::vector<float> element_pos(K, 0.5f);  // point neurons: the middle of the soma
    write_fixed(m, "element_pos", PredType::IEEE_F32LE, PredType::NATIVE_FLOAT, element_pos.data(),
                {K}, 0);
    const hsize_t three = 3;
    r.time = m.createDataSet("time", PredType::IEEE_F64LE, DataSpace(1, &three));
    const double t[3] = {t0_ms, t0_ms, dt_ms};
    r.time.write(t, PredType::NATIVE_DOUBLE);
    attr_str(r.time, "units", "ms");
  } catch (const H5::Exception& e) {
    im.fail(("declaring the report of '" + population + "'").c_str(), e);
  }
  if (probe_id >= im.report_of.size()) im.report_of.resize(probe_id + 1, -1);
  im.report_of[probe_id] = static_cast<int>(im.reports.size());
  im.reports.push_back(std::move(r));
}

std::uint32_t RunFile::add_edges(const std::string& edge, const std::string& source_population,
                                 const std::string& target_population,
                                 std::vector<std::uint64_t> src, std::vector<std::uint64_t> tgt,
                                 std::vector<double> initial_w, std::vector<double> delay_ms,
                                 const std::string& learning_rule, bool snapshot_weights) {
  Impl& im = *impl_;
  im.require_declaring("add_edges");
  check_name("edge population", edge);
  const std::size_t E = src.size();
  if (tgt.size() != E || initial_w.size() != E || delay_ms.size() != E)
    throw InternalError("run file: edge population '" + edge +
                        "': source, target, weight and delay arrays differ in length");
  Impl::Edge ed;
  ed.name = edge;
  ed.n_edges = E;
  ed.snapshots = snapshot_weights;
  const hsize_t n = E;
  const int z = im.opt.deflate;
  try {
    im.ensure_group("edges");
    const Group g = im.file.createGroup("edges/" + edge);
    attr_str(g, "learning_rule", learning_rule);
    write_fixed(g, "source_node_id", PredType::STD_U64LE, PredType::NATIVE_UINT64, src.data(), {n},
                z);
    write_fixed(g, "target_node_id", PredType::STD_U64LE, PredType::NATIVE_UINT64, tgt.data(), {n},
                z);
    {
      DataSet s = g.openDataSet("source_node_id");
      attr_str(s, "node_population", source_population);
      DataSet t = g.openDataSet("target_node_id");
      attr_str(t, "node_population", target_population);
    }
    const std::vector<std::int64_t> zeros(E, 0);
    std::vector<std::int64_t> index(E);
    std::iota(index.begin(), index.end(), std::int64_t{0});
    write_fixed(g, "edge_type_id", PredType::STD_I64LE, PredType::NATIVE_INT64, zeros.data(), {n},
                z);
    write_fixed(g, "edge_group_id", PredType::STD_I64LE, PredType::NATIVE_INT64, zeros.data(), {n},
                z);
    write_fixed(g, "edge_group_index", PredType::STD_I64LE, PredType::NATIVE_INT64, index.data(),
                {n}, z);
    const Group g0 = g.createGroup("0");
    write_fixed(g0, "syn_weight", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE, initial_w.data(),
                {n}, z);
    write_fixed(g0, "delay", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE, delay_ms.data(), {n},
                z);
    {
      DataSet d = g0.openDataSet("delay");
      attr_str(d, "units", "ms");
    }
    if (snapshot_weights) {
      im.ensure_group("weights");
      const Group w = im.file.createGroup("weights/" + edge);
      write_fixed(w, "source_ids", PredType::STD_U64LE, PredType::NATIVE_UINT64, src.data(), {n},
                  z);
      write_fixed(w, "target_ids", PredType::STD_U64LE, PredType::NATIVE_UINT64, tgt.data(), {n},
                  z);
      ed.create_snapshots(w, z);
      ed.values.append(initial_w.data(), 1);
      const std::int32_t initial = -1;
      ed.after_trial.append(&initial, 1);
    }
  } catch (const H5::Exception& e) {
    im.fail(("declaring edge population '" + edge + "'").c_str(), e);
  }
  im.edges.push_back(std::move(ed));
  return static_cast<std::uint32_t>(im.edges.size() - 1);
}

// The same datasets as add_edges() (write_fixed's layout, fixed_layout()), written block by block
// through hyperslabs; HDF5 converts the u32 / f32 memory columns to the u64 / f64 file types.
std::uint32_t RunFile::add_edges_streamed(
    const std::string& edge, const std::string& source_population,
    const std::string& target_population, std::size_t n_edges,
    const std::function<void(std::size_t, std::size_t, const EdgeBlock&)>& fill,
    const std::string& learning_rule, std::size_t block) {
  Impl& im = *impl_;
  im.require_declaring("add_edges_streamed");
  check_name("edge population", edge);
  Impl::Edge ed;
  ed.name = edge;
  ed.n_edges = n_edges;
  const hsize_t n = n_edges;
  const int z = im.opt.deflate;
  block = std::max<std::size_t>(block, 1);
  try {
    im.ensure_group("edges");
    const Group g = im.file.createGroup("edges/" + edge);
    attr_str(g, "learning_rule", learning_rule);
    DataSpace space(1, &n);
    const DSetCreatPropList plist = fixed_layout({n}, z);
    // Creation order as in add_edges (the file's link order is the same).
    DataSet src = g.createDataSet("source_node_id", PredType::STD_U64LE, space, plist);
    DataSet tgt = g.createDataSet("target_node_id", PredType::STD_U64LE, space, plist);
    attr_str(src, "node_population", source_population);
    attr_str(tgt, "node_population", target_population);
    DataSet type_id = g.createDataSet("edge_type_id", PredType::STD_I64LE, space, plist);
    DataSet group_id = g.createDataSet("edge_group_id", PredType::STD_I64LE, space, plist);
    DataSet group_index = g.createDataSet("edge_group_index", PredType::STD_I64LE, space, plist);
    const Group g0 = g.createGroup("0");
    DataSet w = g0.createDataSet("syn_weight", PredType::IEEE_F64LE, space, plist);
    DataSet delay = g0.createDataSet("delay", PredType::IEEE_F64LE, space, plist);
    attr_str(delay, "units", "ms");
    const std::size_t b = std::min<std::size_t>(block, n_edges);
    std::vector<std::uint32_t> s_buf(b), t_buf(b);
    std::vector<float> w_buf(b);
    std::vector<double> d_buf(b);
    std::vector<std::int64_t> zeros(b, 0), index(b);
    ColumnWriter c_tgt(tgt, n, z), c_src(src, n, z), c_w(w, n, z), c_delay(delay, n, z),
        c_index(group_index, n, z), c_type(type_id, n, z), c_group(group_id, n, z);
    std::size_t count = 0;
    auto fill_column = [&](std::size_t c) {
      switch (c) {
        case 0:
          return c_tgt.put<std::uint32_t, std::uint64_t>(t_buf.data(), count);
        case 1:
          return c_src.put<std::uint32_t, std::uint64_t>(s_buf.data(), count);
        case 2:
          return c_w.put<float, double>(w_buf.data(), count);
        case 3:
          return c_delay.put<double, double>(d_buf.data(), count);
        case 4:
          return c_index.put<std::int64_t, std::int64_t>(index.data(), count);
        case 5:
          return c_type.put<std::int64_t, std::int64_t>(zeros.data(), count);
        default:
          return c_group.put<std::int64_t, std::int64_t>(zeros.data(), count);
      }
    };
    for (std::size_t first = 0; first < n_edges; first += b) {
      count = std::min(b, n_edges - first);
      fill(first, count, EdgeBlock{s_buf.data(), t_buf.data(), w_buf.data(), d_buf.data()});
      std::iota(index.begin(), index.begin() + static_cast<std::ptrdiff_t>(count),
                static_cast<std::int64_t>(first));
      parallel_items(7, im.opt.threads, fill_column);
      // Then the chunks to compress of every column, as one list of items.
      ColumnWriter* const columns[7] = {&c_src,   &c_tgt, &c_type, &c_group,
                                        &c_index, &c_w,   &c_delay};
      std::vector<std::pair<ColumnWriter*, std::size_t>> items;
      for (ColumnWriter* c : columns)
        for (std::size_t i = 0, n_items = c->find_repeats(); i < n_items; ++i)
          items.emplace_back(c, i);
      parallel_items(items.size(), im.opt.threads,
                     [&](std::size_t k) { items[k].first->compress_item(items[k].second); });
      // In creation order, with any number of threads: the same file.
      for (ColumnWriter* c : columns) c->write_pending();
    }
  } catch (const H5::Exception& e) {
    im.fail(("declaring edge population '" + edge + "'").c_str(), e);
  }
  im.edges.push_back(std::move(ed));
  return static_cast<std::uint32_t>(im.edges.size() - 1);
}

void RunFile::enable_trials() {
  Impl& im = *impl_;
  im.require_declaring("enable_trials");
  if (im.trials_enabled) return;
  try {
    // 64 rows (~8 KiB) per chunk: the partly filled chunk is recompressed at every flush.
    im.trials.create(im.group("/"), "trials", trial_file_type(), trial_mem_type(), 1, 1, 64, 1,
                     im.opt.deflate);
  } catch (const H5::Exception& e) {
    im.fail("creating /trials", e);
  }
  im.trials_enabled = true;
}

void RunFile::enable_episodes() {
  Impl& im = *impl_;
  im.require_declaring("enable_episodes");
  if (im.episodes_enabled) return;
  try {
    im.episodes.create(im.group("/"), "episodes", episode_file_type(), episode_mem_type(), 1, 1,
                       256, 1, im.opt.deflate);
  } catch (const H5::Exception& e) {
    im.fail("creating /episodes", e);
  }
  im.episodes_enabled = true;
}

void RunFile::set_adjacency(std::vector<std::string> names, const std::vector<double>& before) {
  Impl& im = *impl_;
  im.require_declaring("set_adjacency");
  if (im.adjacency_set) throw InternalError("run file: set_adjacency called twice");
  const std::size_t N = names.size();
  if (before.size() != N * N)
    throw InternalError("run file: adjacency 'before' has " + std::to_string(before.size()) +
                        " entries, expected " + std::to_string(N * N));
  try {
    const Group g = im.file.createGroup("adjacency");
    const hsize_t n = N;
    std::vector<const char*> ptrs;
    ptrs.reserve(N);
    for (const std::string& s : names) ptrs.push_back(s.c_str());
    write_fixed(g, "node_names", utf8_type(), utf8_type(), ptrs.data(), {n}, 0);
    write_fixed(g, "before", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE, before.data(), {n, n},
                0);
    // Created now (no objects can be created under SWMR), NaN until finish() writes it.
    const std::vector<double> nan(N * N, std::numeric_limits<double>::quiet_NaN());
    write_fixed(g, "after", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE, nan.data(), {n, n}, 0);
    im.adjacency_after = g.openDataSet("after");
  } catch (const H5::Exception& e) {
    im.fail("writing /adjacency", e);
  }
  im.adjacency_n = N;
  im.adjacency_set = true;
}

void RunFile::start() {
  Impl& im = *impl_;
  im.require_declaring("start");
  try {
    im.write_buffers();
    im.flush_file();
  } catch (const H5::Exception& e) {
    im.fail("flushing before start", e);
  }
  // Ctrl-C while the run was being set up (the runners poll only once it runs): stop here, so
  // the partial file is deleted and an existing file (--force) is left as it was.
  if (const int sig = interrupt_signal())
    throw Interrupted(sig, "the end of the set-up, before the run started", true);
  commit();
  if (im.opt.swmr && H5Fstart_swmr_write(im.file.getId()) < 0)
    throw SimError("run file '" + im.path + "': H5Fstart_swmr_write failed (" + h5_error_stack() +
                   ")");
  im.started = true;
}

void RunFile::lend_threads(Parallel parallel) {
  impl_->lent = std::move(parallel);
}

void RunFile::on_spikes(std::uint32_t population, std::span<const std::uint32_t> neurons, Tick t) {
  Impl& im = *impl_;
  if (population >= im.pop_of.size() || im.pop_of[population] < 0 || neurons.empty()) return;
  im.require_open("on_spikes");
  Impl::SpikePop& sp = im.pops[static_cast<std::size_t>(im.pop_of[population])];
  const double t_ms = im.grid.to_ms(t);
  for (std::uint32_t n : neurons) {
    if (n >= sp.n_nodes)
      throw InternalError("run file: spike of neuron " + std::to_string(n) + " in population '" +
                          sp.name + "' of " + std::to_string(sp.n_nodes) + " neurons");
    sp.buf_t.push_back(t_ms);
    sp.buf_id.push_back(n);
  }
  if (sp.buf_t.size() >= kSpikeBufferMax) {
    try {
      im.write_spikes(sp);
    } catch (const H5::Exception& e) {
      im.fail("writing spikes", e);
    }
  }
}

void RunFile::on_sample(std::uint32_t probe, Tick t, std::span<const double> values) {
  Impl& im = *impl_;
  if (probe >= im.report_of.size() || im.report_of[probe] < 0) return;
  im.require_open("on_sample");
  Impl::Report& r = im.reports[static_cast<std::size_t>(im.report_of[probe])];
  if (values.size() != r.width)
    throw InternalError("run file: probe " + std::to_string(probe) + " sampled " +
                        std::to_string(values.size()) + " values, report '" + r.name + "' has " +
                        std::to_string(r.width));
  const double t_ms = im.grid.to_ms(t);
  if (r.n_samples == 0 && std::isnan(r.t0)) r.t0 = t_ms;
  // A SONATA frame report has a uniform time grid; a sample off that grid would silently shift
  // every later trace, so refuse it.
  const double expected = r.t0 + static_cast<double>(r.n_samples) * r.dt;
  if (std::fabs(t_ms - expected) > 1e-6 * r.dt)
    throw InternalError("run file: report '" + r.name + "': sample at " + std::to_string(t_ms) +
                        " ms, the report grid expects " + std::to_string(expected) + " ms");
  for (double v : values) r.buf.push_back(static_cast<float>(v));
  ++r.n_samples;
  if (r.buf.size() >= r.chunk_rows * r.width) {
    try {
      im.write_report(r);
    } catch (const H5::Exception& e) {
      im.fail("writing samples", e);
    }
  }
}

void RunFile::append_trial(const TrialRow& row) {
  Impl& im = *impl_;
  im.require_open("append_trial");
  if (!im.trials_enabled) throw InternalError("run file: append_trial without enable_trials()");
  try {
    im.trials.append(&row, 1);  // one compound element: no ragged columns
  } catch (const H5::Exception& e) {
    im.fail("appending a trial row", e);
  }
}

std::uint32_t RunFile::add_synapse_probe(const std::string& name, const std::string& edge,
                                         std::uint64_t synapse, std::uint64_t source,
                                         std::uint64_t target, const std::string& learning_rule,
                                         const std::string& modulator) {
  Impl& im = *impl_;
  im.require_declaring("add_synapse_probe");
  check_name("synapse probe", name);
  H5::CompType mem(sizeof(SynapseSampleRow));
  mem.insertMember("time", offsetof(SynapseSampleRow, time), PredType::NATIVE_DOUBLE);
  mem.insertMember("w", offsetof(SynapseSampleRow, w), PredType::NATIVE_DOUBLE);
  mem.insertMember("c", offsetof(SynapseSampleRow, c), PredType::NATIVE_DOUBLE);
  mem.insertMember("d", offsetof(SynapseSampleRow, d), PredType::NATIVE_DOUBLE);
  const H5::CompType file_type = packed_type({{"time", &PredType::IEEE_F64LE},
                                              {"w", &PredType::IEEE_F64LE},
                                              {"c", &PredType::IEEE_F64LE},
                                              {"d", &PredType::IEEE_F64LE}});
  try {
    const Group g = im.ensure_group("/synapses");
    Impl::BufferedRows<SynapseSampleRow> sp;
    sp.rows.create(g, name, file_type, mem, 1, 1, 1024, 1, im.opt.deflate);
    attr_str(sp.rows.ds, "edge", edge);
    attr_scalar<std::uint64_t>(sp.rows.ds, "synapse", PredType::STD_U64LE, PredType::NATIVE_UINT64,
                               synapse);
    attr_scalar<std::uint64_t>(sp.rows.ds, "source_node_id", PredType::STD_U64LE,
                               PredType::NATIVE_UINT64, source);
    attr_scalar<std::uint64_t>(sp.rows.ds, "target_node_id", PredType::STD_U64LE,
                               PredType::NATIVE_UINT64, target);
    attr_str(sp.rows.ds, "learning_rule", learning_rule);
    attr_str(sp.rows.ds, "modulator", modulator);
    im.synapse_probes.push_back(std::move(sp));
  } catch (const H5::Exception& e) {
    im.fail("creating /synapses", e);
  }
  return static_cast<std::uint32_t>(im.synapse_probes.size() - 1);
}

void RunFile::append_synapse_sample(std::uint32_t probe, const SynapseSampleRow& row) {
  impl_->buffer_row(impl_->synapse_probes, probe, row, "append_synapse_sample");
}

std::uint32_t RunFile::add_modulator_log(const std::string& name, double baseline, double tau_ms) {
  Impl& im = *impl_;
  im.require_declaring("add_modulator_log");
  check_name("modulator", name);
  H5::CompType mem(sizeof(ModulatorChangeRow));
  mem.insertMember("time", offsetof(ModulatorChangeRow, time), PredType::NATIVE_DOUBLE);
  mem.insertMember("value", offsetof(ModulatorChangeRow, value), PredType::NATIVE_DOUBLE);
  const H5::CompType file_type =
      packed_type({{"time", &PredType::IEEE_F64LE}, {"value", &PredType::IEEE_F64LE}});
  try {
    const Group g = im.ensure_group("/modulators");
    Impl::BufferedRows<ModulatorChangeRow> ml;
    ml.rows.create(g, name, file_type, mem, 1, 1, 1024, 1, im.opt.deflate);
    attr_scalar<double>(ml.rows.ds, "baseline", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE,
                        baseline);
    attr_scalar<double>(ml.rows.ds, "tau_ms", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE,
                        tau_ms);
    im.modulator_logs.push_back(std::move(ml));
  } catch (const H5::Exception& e) {
    im.fail("creating /modulators", e);
  }
  return static_cast<std::uint32_t>(im.modulator_logs.size() - 1);
}

void RunFile::append_modulator_change(std::uint32_t log, const ModulatorChangeRow& row) {
  impl_->buffer_row(impl_->modulator_logs, log, row, "append_modulator_change");
}

void RunFile::append_episode(const EpisodeRow& row) {
  Impl& im = *impl_;
  im.require_open("append_episode");
  if (!im.episodes_enabled)
    throw InternalError("run file: append_episode without enable_episodes()");
  try {
    im.episodes.append(&row, 1);
  } catch (const H5::Exception& e) {
    im.fail("appending an episode row", e);
  }
}

// /steps rows are packed (no padding) in memory as in the file: 4 + 4 + 4 + 8 bytes, then 8 per
// named value; the memory type uses native types at the same offsets.
namespace {
constexpr std::size_t kStepFixed = 4 + 4 + 4 + 8;
H5::CompType step_type(const std::vector<std::string>& names, bool file) {
  H5::CompType t(kStepFixed + 8 * names.size());
  t.insertMember("episode", 0, file ? PredType::STD_U32LE : PredType::NATIVE_UINT32);
  t.insertMember("step", 4, file ? PredType::STD_U32LE : PredType::NATIVE_UINT32);
  t.insertMember("action", 8, file ? PredType::STD_I32LE : PredType::NATIVE_INT32);
  t.insertMember("reward", 12, file ? PredType::IEEE_F64LE : PredType::NATIVE_DOUBLE);
  for (std::size_t k = 0; k < names.size(); ++k)
    t.insertMember(names[k], kStepFixed + 8 * k,
                   file ? PredType::IEEE_F64LE : PredType::NATIVE_DOUBLE);
  return t;
}
}  // namespace

void RunFile::enable_steps(const std::vector<std::string>& value_names) {
  Impl& im = *impl_;
  im.require_declaring("enable_steps");
  if (im.steps_enabled) throw InternalError("run file: enable_steps called twice");
  std::vector<std::string> all = {"episode", "step", "action", "reward"};
  for (const auto& n : value_names) {
    if (n.empty() || std::find(all.begin(), all.end(), n) != all.end())
      throw InternalError("run file: /steps column name '" + n + "' is empty or repeated");
    all.push_back(n);
  }
  try {
    // 1024-row chunks (~30 KiB for a few named values), in line with the 32 KiB chunks above.
    im.steps.create(im.group("/"), "steps", step_type(value_names, true),
                    step_type(value_names, false), 1, 1, 1024, 1, im.opt.deflate);
  } catch (const H5::Exception& e) {
    im.fail("creating /steps", e);
  }
  im.step_values = value_names.size();
  im.steps_enabled = true;
}

void RunFile::append_steps(std::span<const StepRow> rows, std::span<const double> values) {
  Impl& im = *impl_;
  im.require_open("append_steps");
  if (!im.steps_enabled) throw InternalError("run file: append_steps without enable_steps()");
  if (values.size() != rows.size() * im.step_values)
    throw InternalError("run file: append_steps needs " + std::to_string(im.step_values) +
                        " values per row");
  const std::size_t width = kStepFixed + 8 * im.step_values;
  im.step_buf.resize(rows.size() * width);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    unsigned char* p = im.step_buf.data() + i * width;
    std::memcpy(p, &rows[i].episode, 4);
    std::memcpy(p + 4, &rows[i].step, 4);
    std::memcpy(p + 8, &rows[i].action, 4);
    std::memcpy(p + 12, &rows[i].reward, 8);
    if (im.step_values)
      std::memcpy(p + kStepFixed, values.data() + i * im.step_values, 8 * im.step_values);
  }
  try {
    im.steps.append(im.step_buf.data(), rows.size());
  } catch (const H5::Exception& e) {
    im.fail("appending /steps rows", e);
  }
}

namespace {
// The edge a snapshot of `n` weights goes to: it must have (timed) snapshots and n edges.
template <class Im>
auto& snapshot_edge(Im& im, std::uint32_t edge_id, bool timed, std::size_t n) {
  im.require_open("append_weights");
  if (edge_id >= im.edges.size() || !im.edges[edge_id].snapshots ||
      (timed && !im.edges[edge_id].timed))
    throw InternalError("run file: append_weights on edge id " + std::to_string(edge_id) +
                        " which has no " + (timed ? "timed " : "") + "weight snapshots");
  auto& e = im.edges[edge_id];
  if (n != e.n_edges)
    throw InternalError("run file: weight snapshot of '" + e.name + "' has " + std::to_string(n) +
                        " values, expected " + std::to_string(e.n_edges));
  return e;
}
}  // namespace

void RunFile::append_weights(std::uint32_t edge_id, int after_trial, std::span<const double> w) {
  Impl& im = *impl_;
  Impl::Edge& e = snapshot_edge(im, edge_id, false, w.size());
  try {
    // values first, after_trial last; HDF5 may still write either extent first, so readers keep
    // the rows present in both (analysis/io.py) and /trials stays the commit record.
    e.values.append(w.data(), 1);
    const std::int32_t k = after_trial;
    e.after_trial.append(&k, 1);
  } catch (const H5::Exception& ex) {
    im.fail("appending a weight snapshot", ex);
  }
}

void RunFile::enable_weight_snapshots(std::uint32_t edge_id) {
  Impl& im = *impl_;
  im.require_declaring("enable_weight_snapshots");
  if (edge_id >= im.edges.size() || im.edges[edge_id].snapshots)
    throw InternalError("run file: enable_weight_snapshots on edge id " + std::to_string(edge_id) +
                        (edge_id < im.edges.size() ? " which has snapshots already" : ""));
  Impl::Edge& e = im.edges[edge_id];
  const int z = im.opt.deflate;
  try {
    im.ensure_group("weights");
    const Group w = im.file.createGroup("weights/" + e.name);
    // No source_ids / target_ids: readers take them from /edges/<edge> (analysis/io.py).
    e.create_snapshots(w, z);
    e.time_ms.create(w, "time_ms", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE, 1, 1, 256, 1, z);
    attr_str(w.openDataSet("time_ms"), "units", "ms");
  } catch (const H5::Exception& ex) {
    im.fail(("declaring weight snapshots of '" + e.name + "'").c_str(), ex);
  }
  e.snapshots = e.timed = true;
}

void RunFile::append_weights(std::uint32_t edge_id, int index, double time_ms,
                             std::span<const float> w) {
  Impl& im = *impl_;
  Impl::Edge& e = snapshot_edge(im, edge_id, true, w.size());
  try {
    // values and time first, after_trial (the index readers check) last, as append_weights.
    e.values.append_as(w.data(), 1, PredType::NATIVE_FLOAT);
    e.time_ms.append(&time_ms, 1);
    const std::int32_t k = index;
    e.after_trial.append(&k, 1);
  } catch (const H5::Exception& ex) {
    im.fail("appending a weight snapshot", ex);
  }
}

void RunFile::flush() {
  Impl& im = *impl_;
  im.require_open("flush");
  try {
    im.write_buffers();
  } catch (const H5::Exception& e) {
    im.fail("flush", e);
  }
  im.flush_file();
}

void RunFile::finish(std::span<const double> adjacency_after, double wall_seconds) {
  Impl& im = *impl_;
  im.require_open("finish");
  commit();  // a file finished without start() (nothing ran) is kept too
  if (!adjacency_after.empty()) {
    if (!im.adjacency_set || adjacency_after.size() != im.adjacency_n * im.adjacency_n)
      throw InternalError("run file: adjacency 'after' has " +
                          std::to_string(adjacency_after.size()) + " entries, expected " +
                          std::to_string(im.adjacency_n * im.adjacency_n));
  }
  try {
    im.write_buffers();
    if (!adjacency_after.empty())
      im.adjacency_after.write(adjacency_after.data(), PredType::NATIVE_DOUBLE);
    im.flush_file();
    im.close_all();
    im.finished = true;
    // Attributes cannot be created under SWMR: reopen in normal mode for the end-of-run marks.
    H5::H5File f(im.path, H5F_ACC_RDWR);
    const Group meta = f.openGroup("meta");
    attr_scalar<std::uint8_t>(meta, "completed", PredType::STD_U8LE, PredType::NATIVE_UINT8, 1);
    attr_scalar<double>(meta, "wall_time_s", PredType::IEEE_F64LE, PredType::NATIVE_DOUBLE,
                        wall_seconds);
    for (const Impl::SpikePop& sp : im.pops) {
      if (sp.by_time) continue;
      const Group sg = f.openGroup("spikes/" + sp.name);
      sg.removeAttr("sorting");
      attr_sorting(sg, kSortingNone);
    }
  } catch (const H5::Exception& e) {
    im.finished = true;
    im.fail("finishing", e);
  }
}

std::vector<TrialRow> RunFile::read_trials(std::int64_t file_id, std::size_t n) {
  std::vector<TrialRow> rows(n);
  if (n == 0) return rows;
  const hid_t ds = H5Dopen2(static_cast<hid_t>(file_id), "trials", H5P_DEFAULT);
  if (ds < 0) throw SimError("run file: no /trials to read (" + h5_error_stack() + ")");
  const hid_t space = H5Dget_space(ds);
  hsize_t have = 0;
  H5Sget_simple_extent_dims(space, &have, nullptr);
  herr_t rc = -1;
  if (have >= n) {
    const hsize_t start = 0, count = n;
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nullptr, &count, nullptr);
    const hid_t mem = H5Screate_simple(1, &count, nullptr);
    rc = H5Dread(ds, trial_mem_type().getId(), mem, space, H5P_DEFAULT, rows.data());
    H5Sclose(mem);
  }
  H5Sclose(space);
  H5Dclose(ds);
  if (have < n)
    throw SimError("run file: /trials has " + std::to_string(have) + " rows, need " +
                   std::to_string(n));
  if (rc < 0) throw SimError("run file: reading /trials failed (" + h5_error_stack() + ")");
  return rows;
}

void RunFile::commit() {
  Impl& im = *impl_;
  if (im.staging.empty()) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!im.opt.force && fs::exists(im.path, ec))  // appeared while this run was being set up
    throw UserError(Diagnostic{im.path, 0, 0, "",
                               "run file already exists; pass --force to overwrite it or choose "
                               "another output path"});
  fs::rename(im.staging, im.path, ec);  // an open file can be renamed; HDF5 keeps its descriptor
  if (ec)
    throw UserError(
        Diagnostic{im.path, 0, 0, "", "cannot rename '" + im.staging + "' to it: " + ec.message()});
  im.staging.clear();
}

void RunFile::rename(const std::string& new_path) {
  commit();
  std::filesystem::rename(impl_->path, new_path);  // throws filesystem_error naming both paths
  impl_->path = new_path;
}

}  // namespace sbx
