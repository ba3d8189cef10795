#ifndef DNN2BRAIN_IO_DETAIL_UTF8_HPP
#define DNN2BRAIN_IO_DETAIL_UTF8_HPP
// IWYU pragma: private

// UTF-8 for the file readers and writers: the .npy and .mat readers turn UTF-32 and UTF-16 text
// into UTF-8, and the JSON writer refuses text that is not UTF-8.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dnn2brain::io::detail {

/// Whether cp is a Unicode scalar value: at most U+10FFFF and not a surrogate (U+D800..U+DFFF).
[[nodiscard]] constexpr bool is_unicode_scalar_value(std::uint32_t cp) noexcept {
  return cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
}

/// Appends the UTF-8 form of cp. Readers that must refuse other values check
/// is_unicode_scalar_value() first; a lone surrogate is encoded by the same bit pattern.
inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not valid (overlong
/// forms, surrogates and code points above U+10FFFF included).
[[nodiscard]] inline std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) {
    return k < text.size() ? static_cast<unsigned char>(text[k]) : 0U;
  };
  const unsigned b0 = byte(i);
  const auto continuation = [&](std::size_t k, unsigned low = 0x80, unsigned high = 0xBF) {
    const unsigned b = byte(k);
    return k < text.size() && b >= low && b <= high;
  };
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return continuation(i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned low = b0 == 0xE0 ? 0xA0 : 0x80, high = b0 == 0xED ? 0x9F : 0xBF;
    return continuation(i + 1, low, high) && continuation(i + 2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned low = b0 == 0xF0 ? 0x90 : 0x80, high = b0 == 0xF4 ? 0x8F : 0xBF;
    return continuation(i + 1, low, high) && continuation(i + 2) && continuation(i + 3) ? 4 : 0;
  }
  return 0;
}

}  // namespace dnn2brain::io::detail

#endif  // DNN2BRAIN_IO_DETAIL_UTF8_HPP
