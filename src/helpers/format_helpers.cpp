// SPDX-License-Identifier: MIT
// bpf_trace_printk, bpf_trace_vprintk and bpf_snprintf, and the printf-like formatting they share, which accepts
// exactly what Linux's bpf_bprintf_prepare accepts (kernel/bpf/helpers.c) and prints as the
// kernel's vsnprintf does: flags "0+- " and a width, then %d %i %u %x %X with an optional l or
// ll, %c, %s, %pks %pus (strings), %p %pK %px %ps %pS %pB (pointers), %pi4 %pI4 %pi6 %pI6 (IP
// addresses) and %%. Anything else (a precision, %hd, %sa...) makes the helper return -EINVAL,
// non-printable characters too. Strings and addresses behind %s and %pI4 are read with safe
// reads; an unreadable one prints as empty (or zeros), as in Linux. trace_printk's messages go
// to the run's TraceSink, or to stderr in the trace_pipe's line format.
#include <fmt/format.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "helpers/helpers_p.hpp"

namespace pollen::helpers::detail {
namespace {

using vm::RunContext;

constexpr size_t kMaxBprintfBuf = 1024;            // MAX_BPRINTF_BUF: trace_printk's message buffer
constexpr size_t kMaxBinArgs = 512;                // MAX_BPRINTF_BIN_ARGS: the copied arguments
constexpr size_t kMaxTraceArgs = 3;                // MAX_TRACE_PRINTK_VARARGS
constexpr size_t kMaxSnprintfArgs = 12;            // MAX_BPRINTF_VARARGS
constexpr size_t kFieldWidthMax = (1u << 23) - 1;  // vsnprintf's FIELD_WIDTH_MAX

// Formatted text, kept up to a capacity and counted in full: vsnprintf returns the length the
// whole text would have, and huge widths must not cost memory.
class Output {
 public:
  explicit Output(size_t capacity) : capacity_(capacity) {}
  void put(std::string_view s) {
    text_.append(s.substr(0, std::min(s.size(), capacity_ - text_.size())));
    total_ += s.size();
  }
  void pad(size_t n, char c) {
    text_.append(std::min(n, capacity_ - text_.size()), c);
    total_ += n;
  }
  const std::string& text() const { return text_; }
  size_t total() const { return total_; }

 private:
  size_t capacity_;
  std::string text_;
  size_t total_ = 0;
};

// One conversion's flags and width.
struct Spec {
  bool left = false, zero = false, plus = false, space = false;
  size_t width = 0;
};

// The kernel's ctype for the checks: printable ASCII, and the white space characters.
bool is_print(char c) {
  return c >= 0x20 && c < 0x7f;
}
bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}
bool is_punct(char c) {
  return is_print(c) && c != ' ' && !std::isalnum(static_cast<unsigned char>(c));
}

// `body` in a field of spec.width: sign or prefix first, then zeros when the '0' flag pads
// (numbers only), or spaces on the side the '-' flag says.
void emit(Output& out, const Spec& spec, std::string_view prefix, std::string_view body,
          bool zero_pads) {
  const size_t length = prefix.size() + body.size();
  const size_t fill = spec.width > length ? spec.width - length : 0;
  if (!spec.left && !(zero_pads && spec.zero)) out.pad(fill, ' ');
  out.put(prefix);
  if (!spec.left && zero_pads && spec.zero) out.pad(fill, '0');
  out.put(body);
  if (spec.left) out.pad(fill, ' ');
}

void emit_number(Output& out, const Spec& spec, uint64_t value, bool is_signed, char conv) {
  std::string_view prefix;
  if (is_signed && static_cast<int64_t>(value) < 0) {
    prefix = "-";
    value = 0 - value;
  } else if (is_signed && (spec.plus || spec.space)) {
    prefix = spec.plus ? "+" : " ";
  }
  const char* digits = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  const uint64_t base = conv == 'x' || conv == 'X' ? 16 : 10;
  char buf[24];
  size_t at = sizeof buf;
  do {
    buf[--at] = digits[value % base];
    value /= base;
  } while (value != 0);
  emit(out, spec, prefix, {buf + at, sizeof buf - at}, true);
}

// One formatting: walks the format as bpf_bprintf_prepare checks it, printing each conversion as
// vsnprintf would, and keeps the account of Linux's buffer of copied arguments.
class Formatter {
 public:
  Formatter(std::span<const uint64_t> args, Output& out) : args_(args), out_(out) {}
  /// 0, or -EINVAL for a format Linux refuses, -ENOSPC when the copied strings overflow.
  long run(std::string_view fmt);

 private:
  char at(size_t i) const { return i < fmt_.size() ? fmt_[i] : '\0'; }
  long conversion(size_t& i);
  long integer(size_t& i, const Spec& spec, uint64_t arg);
  long pointer(size_t& i, const Spec& spec, uint64_t arg);
  long string(size_t& i, const Spec& spec, uint64_t arg);
  long ip_address(size_t& i, const Spec& spec, uint64_t arg);
  bool take_arg_space(size_t size);

  std::span<const uint64_t> args_;
  Output& out_;
  std::string_view fmt_;
  size_t spec_count_ = 0;
  size_t bin_used_ = 0;  // bytes of Linux's bin_args buffer the arguments so far take
};

long Formatter::run(std::string_view fmt) {
  fmt_ = fmt;
  for (size_t i = 0; i < fmt_.size(); ++i) {
    const char c = fmt_[i];
    if (!is_print(c) && !is_space(c)) return -EINVAL;
    if (c != '%') {
      out_.put({&fmt_[i], 1});
    } else if (at(i + 1) == '%') {
      out_.put("%");
      ++i;
    } else if (long err = conversion(i); err < 0) {
      return err;
    }
  }
  return 0;
}

// A conversion from its '%' at `i`; leaves `i` at its last character.
long Formatter::conversion(size_t& i) {
  if (spec_count_ >= args_.size()) return -EINVAL;
  const uint64_t arg = args_[spec_count_++];
  Spec spec;
  for (++i;; ++i) {
    const char f = at(i);
    if (f == '0')
      spec.zero = true;
    else if (f == '-')
      spec.left = true;
    else if (f == '+')
      spec.plus = true;
    else if (f == ' ')
      spec.space = true;
    else
      break;
  }
  if (at(i) >= '1' && at(i) <= '9')
    for (; at(i) >= '0' && at(i) <= '9'; ++i)
      spec.width = std::min(spec.width * 10 + static_cast<size_t>(at(i) - '0'), kFieldWidthMax);
  switch (at(i)) {
    case 'p': return pointer(i, spec, arg);
    case 's': return string(i, spec, arg);
    case 'c': {
      if (!take_arg_space(1)) return -ENOSPC;
      const char ch = static_cast<char>(arg);
      emit(out_, spec, {}, {&ch, 1}, false);
      return 0;
    }
    default: return integer(i, spec, arg);
  }
}

// Linux copies every argument into one buffer of MAX_BPRINTF_BIN_ARGS bytes, numbers aligned
// to 4 bytes; an argument that does not fit fails the call with -ENOSPC.
bool Formatter::take_arg_space(size_t size) {
  const size_t start = size == 1 ? bin_used_ : (bin_used_ + 3) & ~size_t{3};
  if (start > kMaxBinArgs || kMaxBinArgs - start < size) return false;
  bin_used_ = start + size;
  return true;
}

// %d %i %u %x %X with no, one or two 'l': int-sized arguments are truncated to 32 bits.
long Formatter::integer(size_t& i, const Spec& spec, uint64_t arg) {
  size_t size = 4;
  for (int l = 0; l < 2 && at(i) == 'l'; ++l, ++i) size = 8;
  const char conv = at(i);
  if (conv != 'd' && conv != 'i' && conv != 'u' && conv != 'x' && conv != 'X') return -EINVAL;
  if (!take_arg_space(size)) return -ENOSPC;
  const bool is_signed = conv == 'd' || conv == 'i';
  uint64_t value = arg;
  if (size == 4)
    value = is_signed ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(arg)))
                      : static_cast<uint32_t>(arg);
  emit_number(out_, spec, value, is_signed, conv);
  return 0;
}

// %s, and %pks / %pus from string(): the character after it must end the conversion.
long Formatter::string(size_t& i, const Spec& spec, uint64_t arg) {
  const char next = at(i + 1);
  if (next != '\0' && !is_space(next) && !is_punct(next)) return -EINVAL;
  if (bin_used_ >= kMaxBinArgs) return -ENOSPC;
  char copy[kMaxBinArgs];
  long n = safe_read_str(copy, arg, kMaxBinArgs - bin_used_);
  if (n < 0) {  // an unreadable string prints as empty, and takes its NUL's byte
    copy[0] = '\0';
    n = 1;
  }
  bin_used_ += static_cast<size_t>(n);
  emit(out_, spec, {}, {copy, std::strlen(copy)}, false);
  return 0;
}

long Formatter::pointer(size_t& i, const Spec& spec, uint64_t arg) {
  const char ext = at(i + 1);
  if ((ext == 'k' || ext == 'u') && at(i + 2) == 's') {
    i += 2;
    return string(i, spec, arg);
  }
  if (ext == 'i' || ext == 'I') return ip_address(i, spec, arg);
  const bool symbol = ext == 's' || ext == 'S' || ext == 'B';
  if (ext != '\0' && !is_space(ext) && !is_punct(ext) && ext != 'K' && ext != 'x' && !symbol)
    return -EINVAL;
  if (ext == 'K' || ext == 'x' || symbol) ++i;
  if (!take_arg_space(8)) return -ENOSPC;
  // Pollen has no kernel addresses to hide: %p prints the raw value (Linux hashes it), 16
  // zero-padded hex digits unless a width is given; a symbol lookup finds none, which the
  // kernel prints as 0x and the address.
  if (symbol) {
    emit(out_, spec, {}, fmt::format("{:#x}", arg), false);
    return 0;
  }
  Spec hex = spec;
  if (hex.width == 0) {
    hex.width = 16;
    hex.zero = true;
  }
  emit_number(out_, hex, arg, false, 'x');
  return 0;
}

// %pi4 %pI4 %pi6 %pI6: the address the argument points to, zeros when it is unreadable.
long Formatter::ip_address(size_t& i, const Spec& spec, uint64_t arg) {
  const bool dotted = at(i + 1) == 'I';
  const char version = at(i + 2);
  if (version != '4' && version != '6') return -EINVAL;
  i += 2;
  const size_t size = version == '4' ? 4 : 16;
  if (bin_used_ > kMaxBinArgs || kMaxBinArgs - bin_used_ < size) return -ENOSPC;
  std::array<uint8_t, 16> ip{};
  if (!safe_read(ip.data(), arg, size)) ip.fill(0);
  std::string text;
  if (version == '4') {
    const char* form = dotted ? "{}.{}.{}.{}" : "{:03}.{:03}.{:03}.{:03}";
    text = fmt::format(fmt::runtime(form), ip[0], ip[1], ip[2], ip[3]);
  } else {
    for (size_t k = 0; k < 16; k += 2) {
      if (dotted && k != 0) text += ':';
      text += fmt::format("{:02x}{:02x}", ip[k], ip[k + 1]);
    }
  }
  bin_used_ += text.size() + 1;
  emit(out_, spec, {}, text, false);
  return 0;
}

// The default trace sink: one line on stderr shaped like the kernel's trace_pipe,
// "comm-tid [cpu] seconds: bpf_trace_printk: message".
void write_stderr(const RunContext& ctx, std::string_view message) {
  char comm[16] = {};
  prctl(PR_GET_NAME, comm);
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const bool ends_line = !message.empty() && message.back() == '\n';
  fmt::print(stderr, "{}-{} [{:03}] {}.{:06}: bpf_trace_printk: {}{}", comm, gettid(), ctx.slot,
             ts.tv_sec, ts.tv_nsec / 1000, message, ends_line ? "" : "\n");
}

// The message of the format of `size` bytes at r1 (NUL-terminated within them) with `args`, to
// the trace sink: its length, or a refusal.
uint64_t trace(RunContext* ctx, uint32_t helper, uint64_t r1, uint32_t size,
               std::span<const uint64_t> args) {
  if (!readable(ctx, helper, 1, r1, size)) return 0;
  const auto* fmt = ptr<const char>(r1);
  const void* nul = size != 0 ? std::memchr(fmt, 0, size) : nullptr;
  if (nul == nullptr) return neg_errno(EINVAL);
  Output out(kMaxBprintfBuf - 1);
  if (long err = Formatter(args, out).run({fmt, static_cast<const char*>(nul)}); err < 0)
    return from_long(err);
  if (ctx->trace.write != nullptr) {
    ctx->trace.write(ctx->trace.arg, out.text());
  } else {
    write_stderr(*ctx, out.text());
  }
  return out.total();
}

uint64_t trace_printk(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                      RunContext* ctx) {
  const std::array<uint64_t, kMaxTraceArgs> args = {r3, r4, r5};
  return trace(ctx, id::kTracePrintk, r1, static_cast<uint32_t>(r2), args);
}

// bpf_trace_vprintk: trace_printk with up to 12 arguments in an array of u64 (what libbpf's
// bpf_printk calls with more than three).
uint64_t trace_vprintk(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t,
                       RunContext* ctx) {
  const auto data_len = static_cast<uint32_t>(r4);
  if (data_len % 8 != 0 || data_len > kMaxSnprintfArgs * 8 || (data_len != 0 && r3 == 0))
    return neg_errno(EINVAL);
  if (!readable(ctx, id::kTraceVprintk, 3, r3, data_len)) return 0;
  std::array<uint64_t, kMaxSnprintfArgs> args{};
  if (data_len != 0) std::memcpy(args.data(), ptr(r3), data_len);
  return trace(ctx, id::kTraceVprintk, r1, static_cast<uint32_t>(r2),
               std::span<const uint64_t>(args.data(), data_len / 8));
}

uint64_t snprintf_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                         RunContext* ctx) {
  const auto size = static_cast<uint32_t>(r2);
  const auto data_len = static_cast<uint32_t>(r5);
  if (!writable(ctx, id::kSnprintf, 1, r1, size)) return 0;
  const std::optional<size_t> fmt_len = const_string(ctx, id::kSnprintf, 3, r3);
  if (!fmt_len) return 0;
  if (data_len % 8 != 0 || data_len > kMaxSnprintfArgs * 8 || (data_len != 0 && r4 == 0))
    return neg_errno(EINVAL);
  if (!readable(ctx, id::kSnprintf, 4, r4, data_len)) return 0;
  std::array<uint64_t, kMaxSnprintfArgs> args{};
  if (data_len != 0) std::memcpy(args.data(), ptr(r4), data_len);
  Output out(size != 0 ? size - 1 : 0);
  const std::span<const uint64_t> used(args.data(), data_len / 8);
  if (long err = Formatter(used, out).run({ptr<const char>(r3), *fmt_len}); err < 0)
    return from_long(err);
  if (size != 0) {
    std::memcpy(ptr(r1), out.text().data(), out.text().size());
    ptr<char>(r1)[out.text().size()] = '\0';
  }
  // The length with its NUL, even when cut (Linux: bstr_printf's result + 1).
  return out.total() + 1;
}

constexpr Implementation kImplementations[] = {
    {id::kTracePrintk, trace_printk},
    {id::kSnprintf, snprintf_helper},
    {id::kTraceVprintk, trace_vprintk},
};

}  // namespace

std::span<const Implementation> format_helpers() {
  return kImplementations;
}

}  // namespace pollen::helpers::detail
