// SPDX-License-Identifier: MIT
// Error handling for Pollen: a Result<T> holds either a value or an Error that carries a code,
// a location (instruction index, source line, byte offset, ELF section) and a message. No
// exception crosses the public API; a rejected program is a verdict, not an Error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace pollen {

/// What kind of failure an Error reports.
enum class Errc : uint8_t {
  InvalidArgument,  ///< bad usage: an option or argument that makes no sense
  Parse,            ///< unreadable input text (assembly, hex, numbers)
  InvalidProgram,   ///< the bytecode breaks a structural rule of the ISA
  NotSupported,     ///< a feature Pollen does not implement; the message names it
  Io,               ///< a file could not be read or written
  RuntimeFault,     ///< a program faulted while running (checked mode, call depth, budget)
  Rejected,         ///< the verifier rejected the program; the message says why
};

/// Where an Error happened.
struct Location {
  enum class Kind : uint8_t { None, Insn, Line, Offset };
  Kind kind = Kind::None;
  uint64_t value = 0;  ///< instruction index, 1-based line number or byte offset
  std::string file;    ///< the file or section the value is relative to, if any

  static Location none() { return {}; }
  static Location insn(uint64_t index) { return {Kind::Insn, index, {}}; }
  static Location line(uint64_t number, std::string file = {}) {
    return {Kind::Line, number, std::move(file)};
  }
  static Location offset(uint64_t byte, std::string file = {}) {
    return {Kind::Offset, byte, std::move(file)};
  }
  /// "insn 12", "prog.s:4", "line 4", "offset 16", "file: offset 16", or "" for none.
  std::string str() const {
    std::string n = std::to_string(value);
    switch (kind) {
      case Kind::None: return file;
      case Kind::Insn: return "insn " + n;
      case Kind::Line: return file.empty() ? "line " + n : file + ":" + n;
      case Kind::Offset: return file.empty() ? "offset " + n : file + ": offset " + n;
    }
    return {};
  }
};

struct Error {
  Errc code = Errc::InvalidArgument;
  Location location;
  std::string message;

  /// "<where>: <message>", or the message alone when there is no location.
  std::string str() const {
    std::string where = location.str();
    return where.empty() ? message : where + ": " + message;
  }
};

/// Builds an Error; the usual way to fail a Result.
inline Error make_error(Errc code, Location where, std::string message) {
  return Error{code, std::move(where), std::move(message)};
}

/// A value or an Error, like std::expected (which clang 14 cannot compile with libstdc++ 12).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

/// Success builds no Error (no strings to construct and destroy): hot paths return it.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

}  // namespace pollen

/// Propagates a failed Result<void> (or any Result whose value is not needed).
#define POLLEN_CHECK(expr)                                 \
  do {                                                     \
    auto&& pollen_check_result_ = (expr);                  \
    if (!pollen_check_result_) return std::move(pollen_check_result_).error(); \
  } while (0)

#define POLLEN_CONCAT_INNER_(a, b) a##b
#define POLLEN_CONCAT_(a, b) POLLEN_CONCAT_INNER_(a, b)

/// `POLLEN_TRY(auto x, f());` declares x from f()'s value or returns f()'s Error.
#define POLLEN_TRY(decl, expr) POLLEN_TRY_IMPL_(POLLEN_CONCAT_(pollen_try_, __LINE__), decl, expr)
#define POLLEN_TRY_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                      \
  if (!tmp) return std::move(tmp).error(); \
  decl = std::move(tmp).value()
