// Byte streams for checkpoints: a flat little record of numbers, strings and arrays written in
// order and read back in the same order. Native byte order and IEEE doubles copied bit for bit, so
// a checkpoint restores the exact state on the machine (and build) that wrote it; the reader checks
// every length and throws std::runtime_error on a truncated or inconsistent stream instead of
// reading past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sbx {

class StateWriter {
 public:
  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_string(std::string_view s) {
    put<std::uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  template <class T>
  void put_vector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<std::uint64_t>(v.size());
    const auto* p = reinterpret_cast<const char*>(v.data());
    bytes_.insert(bytes_.end(), p, p + v.size() * sizeof(T));
  }
  // A named section marker: the reader checks it, so a layout mismatch fails at its first field.
  void tag(std::string_view name) { put_string(name); }

  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class StateReader {
 public:
  explicit StateReader(std::string_view bytes) : b_(bytes) {}

  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    need(n);
    std::string s(b_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  template <class T>
  std::vector<T> get_vector() {
    const auto n = get<std::uint64_t>();
    if (n > (b_.size() - pos_) / sizeof(T)) fail("array longer than the rest of the stream");
    std::vector<T> v(n);
    std::memcpy(v.data(), b_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  void expect_tag(std::string_view name) {
    const std::string got = get_string();
    if (got != name) fail("expected section '" + std::string(name) + "', found '" + got + "'");
  }
  // Reads a vector and requires its length to be `n`.
  template <class T>
  std::vector<T> get_vector_of(std::size_t n, std::string_view what) {
    auto v = get_vector<T>();
    if (v.size() != n)
      fail(std::string(what) + ": " + std::to_string(v.size()) + " values, expected " +
           std::to_string(n));
    return v;
  }
  bool at_end() const { return pos_ == b_.size(); }
  [[noreturn]] static void fail(const std::string& msg) {
    throw std::runtime_error("checkpoint: " + msg);
  }

 private:
  void need(std::size_t n) const {
    if (n > b_.size() - pos_) fail("truncated stream");
  }
  std::string_view b_;
  std::size_t pos_ = 0;
};

}  // namespace sbx
