#ifndef DNN2BRAIN_SEARCHLIGHT_NEIGHBOR_TABLE_HPP
#define DNN2BRAIN_SEARCHLIGHT_NEIGHBOR_TABLE_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <dnn2brain/config.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/searchlight/brain_mask.hpp>
#include <dnn2brain/searchlight/geometry.hpp>
#include <dnn2brain/searchlight/neighborhood.hpp>

namespace dnn2brain {

/// What a searchlight's center is: an in-mask voxel, or the first (lowest-index) voxel of one of
/// the paper's blocks (its geometric center lies radius + stride/2 − 1/2 voxels further along
/// each axis).
enum class center_kind : std::uint8_t { voxel, block };

/// Bound on paper-block radius and stride: keeps every block edge far from integer overflow.
inline constexpr int max_block_parameter = 1 << 16;

/// One searchlight: its center and its members, the data columns of its in-mask voxels. The
/// members view storage owned by the range or table it came from (see there for how long); they
/// are stored in 32 bits (a mask has fewer than 2^31 voxels), half the memory of index_t.
struct searchlight {
  index_t index = 0;  ///< position in the range / table
  ijk center;         ///< center voxel, or the block's first voxel
  std::span<const std::int32_t> members;

  [[nodiscard]] index_t size() const noexcept { return index_t(members.size()); }
};

/// Options of searchlight_range and make_neighbor_table().
struct neighborhood_options {
  /// Centers with fewer in-mask members are left out (rsatoolbox's `threshold`, as a count).
  index_t min_voxels = 1;
  /// Bytes a neighborhood may take, checked before anything large is allocated:
  /// make_neighbor_table() refuses a table whose upper bound (searchlights × the most members a
  /// searchlight can have, at 4 bytes a member, plus 36 bytes a searchlight) exceeds it, and a
  /// sphere, diamond, cube or nearest whose candidate offsets (a box cut to the volume, 60 bytes
  /// an offset) would. The default, 64 GiB, holds a 10 mm sphere around every voxel of a 1 mm
  /// whole-brain mask; an absurd neighborhood (a 1e6-voxel sphere on an MNI mask: about 200 GB)
  /// fails at once with invalid_argument instead of running for minutes toward the swap. Raise it
  /// for larger tables, or visit the searchlights one at a time with searchlight_range.
  /// In bytes, hence std::size_t like sizeof.
  std::size_t memory_budget = std::size_t{64} << 30;
};

namespace detail {

/// Throws unless `mask` is the mask a table (of this geometry and mask voxel count) was built on.
inline void require_table_mask(const volume_geometry& geometry, index_t mask_voxels,
                               const brain_mask& mask, const char* function) {
  if (!geometry.same_grid(mask.geometry(), 0.0) || mask_voxels != mask.size())
    throw_invalid_argument(function,
                           concat("expected the mask of the neighbor table (", mask_voxels,
                                  " voxels), got one of ", mask.size(), " voxels or another grid"));
}

/// a · b, or the largest value when it does not fit.
[[nodiscard]] inline std::uint64_t saturating_product(std::uint64_t a, std::uint64_t b) noexcept {
  return b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b
             ? std::numeric_limits<std::uint64_t>::max()
             : a * b;
}

/// Bytes of a table in make_neighbor_table(), per member (its column) and per candidate center
/// (center, offset, count and slot).
inline constexpr std::uint64_t table_bytes_per_member = sizeof(std::int32_t);
inline constexpr std::uint64_t table_bytes_per_center = sizeof(ijk) + 3 * sizeof(std::int64_t);

/// Throws unless a table of `centers` searchlights of at most `members` members each fits
/// options.memory_budget.
inline void require_table_budget(const char* name, index_t centers, index_t members,
                                 const neighborhood_options& options) {
  const std::uint64_t total = saturating_product(std::uint64_t(centers), std::uint64_t(members));
  const std::uint64_t bytes = saturating_product(total, table_bytes_per_member) +
                              std::uint64_t(centers) * table_bytes_per_center;
  if (bytes > options.memory_budget)
    throw_invalid_argument(
        "make_neighbor_table",
        concat("expected a table within the memory budget of ", options.memory_budget,
               " bytes (neighborhood_options::memory_budget), got ", name, " with up to ", members,
               " members for each of ", centers, " searchlights: up to ", total, " members, ",
               bytes, " bytes (", bytes >> 30,
               " GiB); raise memory_budget, choose a smaller neighborhood, or visit the "
               "searchlights one at a time with searchlight_range"));
}

/// Throws unless v lies inside the grid.
inline void require_inside(const volume_geometry& geometry, const ijk& v, const char* function) {
  if (!geometry.contains(v))
    throw_invalid_argument(function, concat("expected a voxel inside the ", geometry.shape[0],
                                            " x ", geometry.shape[1], " x ", geometry.shape[2],
                                            " grid, got (", v.i, ", ", v.j, ", ", v.k, ")"));
}

}  // namespace detail

/// \brief The searchlights of a mask, computed one at a time: no table in memory.
///
/// `for (const searchlight& s : searchlight_range(mask, neighborhood::sphere{2})) ...` visits
/// every center in order. The iterator owns one member buffer and reuses it, so a searchlight's
/// members are valid until the next increment (like std::istream_iterator). Centers below
/// options.min_voxels are skipped. The range keeps a reference to the mask, which must outlive it
/// (a temporary mask does not compile). For index-based parallel loops build the table instead.
class searchlight_range {
 public:
  class iterator;
  struct sentinel {};

  template <typename Neighborhood>
  searchlight_range(const brain_mask& mask, const Neighborhood& shape,
                    const neighborhood_options& options = {})
      : m_mask(&mask), m_options(options) {
    if constexpr (std::is_same_v<Neighborhood, neighborhood::paper_blocks>) {
      init_blocks(shape);
    } else {
      const detail::offset_ball ball = detail::ball_of(shape, mask.geometry());
      m_name = ball.name;
      m_offsets = detail::sorted_offsets(ball, options.memory_budget);
      m_centers = mask.voxels();
    }
  }
  template <typename Neighborhood>
  searchlight_range(brain_mask&&, const Neighborhood&, const neighborhood_options& = {}) = delete;

  /// Centers before the min_voxels filter: every in-mask voxel, or every kept block.
  [[nodiscard]] index_t candidates() const noexcept { return index_t(m_centers.size()); }
  [[nodiscard]] center_kind kind() const noexcept { return m_kind; }
  [[nodiscard]] const brain_mask& mask() const noexcept { return *m_mask; }
  [[nodiscard]] const neighborhood_options& options() const noexcept { return m_options; }
  /// The neighborhood policy, "neighborhood::sphere" etc., for messages.
  [[nodiscard]] const char* neighborhood_name() const noexcept { return m_name; }
  /// Block parameters (kind() == center_kind::block).
  [[nodiscard]] const neighborhood::paper_blocks& blocks() const noexcept { return m_blocks; }
  /// Upper bound on any searchlight's member count (at most the mask's voxel count).
  [[nodiscard]] index_t max_members() const noexcept {
    index_t members = 1;
    if (m_kind == center_kind::block) {
      const auto& shape = m_mask->geometry().shape;
      for (const std::size_t extent : shape)
        members *= std::min(index_t(2 * m_blocks.radius + m_blocks.stride), index_t(extent));
    } else {
      members = m_offsets.take > 0 ? m_offsets.take : index_t(m_offsets.offsets.size());
    }
    return std::min(members, m_mask->size());
  }

  /// Members of candidate center c (an index before the min_voxels filter, in [0,
  /// candidates())), in a fixed order: nearest first, C order for blocks.
  void fill(index_t c, std::vector<std::int32_t>& members) const {
    members.clear();
    const ijk origin = m_centers[std::size_t(c)];
    if (m_kind == center_kind::block) {
      const auto& shape = m_mask->geometry().shape;
      const auto edge = [&](int start, std::size_t axis) {
        return std::min(2 * m_blocks.radius + m_blocks.stride, int(shape[axis]) - start);
      };
      const int ei = edge(origin.i, 0), ej = edge(origin.j, 1), ek = edge(origin.k, 2);
      for (int i = 0; i < ei; ++i)
        for (int j = 0; j < ej; ++j)
          for (int k = 0; k < ek; ++k) {
            const index_t col = m_mask->column({origin.i + i, origin.j + j, origin.k + k});
            if (col >= 0) members.push_back(std::int32_t(col));
          }
      return;
    }
    for (const ijk& o : m_offsets.offsets) {
      const index_t col = m_mask->column({origin.i + o.i, origin.j + o.j, origin.k + o.k});
      if (col >= 0) {
        members.push_back(std::int32_t(col));
        if (index_t(members.size()) == m_offsets.take) break;
      }
    }
  }

  /// Candidate center c's voxel, or its block's first voxel.
  [[nodiscard]] const ijk& center(index_t c) const noexcept { return m_centers[std::size_t(c)]; }

  [[nodiscard]] iterator begin() const;
  [[nodiscard]] sentinel end() const noexcept { return {}; }

 private:
  void init_blocks(const neighborhood::paper_blocks& b) {
    if (b.radius < 0 || b.stride < 1 || b.radius > max_block_parameter ||
        b.stride > max_block_parameter)
      detail::throw_invalid_argument(
          "neighborhood::paper_blocks",
          detail::concat("expected 0 <= radius <= ", max_block_parameter, " and 1 <= stride <= ",
                         max_block_parameter, ", got radius ", b.radius, " and stride ", b.stride));
    m_kind = center_kind::block;
    m_name = "neighborhood::paper_blocks";
    m_blocks = b;
    const auto& shape = m_mask->geometry().shape;
    const int edge = 2 * b.radius + b.stride;
    const auto extent = [&](int start, std::size_t axis) {
      return std::min(start + edge, static_cast<int>(shape[axis])) - start;
    };
    for (int i = 0; i < int(shape[0]); i += b.stride)
      for (int j = 0; j < int(shape[1]); j += b.stride)
        for (int k = 0; k < int(shape[2]); k += b.stride) {
          // The core: the (truncated) block without `radius` voxels on each side.
          const int ei = extent(i, 0), ej = extent(j, 1), ek = extent(k, 2);
          bool touches = false;
          for (int ci = i + b.radius; ci < i + ei - b.radius && !touches; ++ci)
            for (int cj = j + b.radius; cj < j + ej - b.radius && !touches; ++cj)
              for (int ck = k + b.radius; ck < k + ek - b.radius && !touches; ++ck)
                touches = m_mask->column({ci, cj, ck}) >= 0;
          if (touches) m_centers.push_back({i, j, k});
        }
  }

  const brain_mask* m_mask;
  neighborhood_options m_options;
  const char* m_name = "";
  center_kind m_kind = center_kind::voxel;
  detail::offset_list m_offsets;
  neighborhood::paper_blocks m_blocks{};
  std::vector<ijk> m_centers;
};

class searchlight_range::iterator {
 public:
  using iterator_concept = std::input_iterator_tag;  // single pass: the buffer is reused
  using iterator_category = std::input_iterator_tag;
  using value_type = searchlight;
  using difference_type = std::ptrdiff_t;
  using reference = const searchlight&;
  using pointer = const searchlight*;

  iterator() = default;
  explicit iterator(const searchlight_range* range) : m_range(range) {
    m_members.reserve(std::size_t(range->max_members()));
    load();
  }
  // A copy views its own copy of the members, never the source's buffer.
  iterator(const iterator& other)
      : m_range(other.m_range),
        m_candidate(other.m_candidate),
        m_members(other.m_members),
        m_current(other.m_current) {
    m_current.members = {m_members.data(), m_members.size()};
  }
  iterator& operator=(const iterator& other) {
    if (this != &other) {
      m_range = other.m_range;
      m_candidate = other.m_candidate;
      m_members = other.m_members;
      m_current = other.m_current;
      m_current.members = {m_members.data(), m_members.size()};
    }
    return *this;
  }
  iterator(iterator&&) noexcept = default;  // a moved vector keeps its buffer
  iterator& operator=(iterator&&) noexcept = default;
  ~iterator() = default;

  reference operator*() const noexcept { return m_current; }
  pointer operator->() const noexcept { return &m_current; }
  iterator& operator++() {
    ++m_candidate;
    ++m_current.index;
    load();
    return *this;
  }
  void operator++(int) { ++*this; }

  friend bool operator==(const iterator& it, sentinel) noexcept {
    return it.m_range == nullptr || it.m_candidate >= it.m_range->candidates();
  }

 private:
  void load() {
    for (; m_candidate < m_range->candidates(); ++m_candidate) {
      m_range->fill(m_candidate, m_members);
      if (index_t(m_members.size()) >= m_range->options().min_voxels) break;
    }
    if (m_candidate < m_range->candidates()) {
      m_current.center = m_range->center(m_candidate);
      m_current.members = {m_members.data(), m_members.size()};
    }
  }

  const searchlight_range* m_range = nullptr;
  index_t m_candidate = 0;
  std::vector<std::int32_t> m_members;
  searchlight m_current{};
};

inline searchlight_range::iterator searchlight_range::begin() const {
  return iterator(this);
}

/// \brief The transpose of a neighbor table: for every in-mask voxel (data column), the
/// searchlights whose members include it. Built on demand by neighbor_table::membership().
///
/// CSR like the table, and as large: one 32-bit searchlight index per member of the table.
class voxel_membership {
 public:
  voxel_membership() = default;

  /// Number of in-mask voxels, the table's mask_voxels().
  [[nodiscard]] index_t size() const noexcept { return index_t(m_offsets.size()) - 1; }

  /// Indices of the searchlights that have data column `column` among their members, in
  /// increasing order (empty when none has). O(1).
  /// \throws invalid_argument unless 0 <= column < size().
  [[nodiscard]] std::span<const std::int32_t> containing(index_t column) const {
    if (column < 0 || column >= size())
      detail::throw_invalid_argument(
          "voxel_membership::containing",
          detail::concat("expected a data column in [0, ", size(), "), got ", column));
    const auto first = std::size_t(m_offsets[std::size_t(column)]);
    const auto last = std::size_t(m_offsets[std::size_t(column) + 1]);
    return {m_searchlights.data() + first, last - first};
  }

  /// The same for voxel v of `mask`, the mask the table was built on: empty when v lies outside
  /// the mask.
  /// \throws invalid_argument if v lies outside the grid or `mask` is not the table's mask.
  [[nodiscard]] std::span<const std::int32_t> containing(const brain_mask& mask,
                                                         const ijk& v) const {
    constexpr const char* function = "voxel_membership::containing";
    detail::require_table_mask(m_geometry, size(), mask, function);
    detail::require_inside(m_geometry, v, function);
    const index_t column = mask.column(v);
    return column < 0 ? std::span<const std::int32_t>() : containing(column);
  }

  /// CSR storage: offsets() (size() + 1 entries) into searchlights().
  [[nodiscard]] const std::vector<std::int64_t>& offsets() const noexcept { return m_offsets; }
  [[nodiscard]] const std::vector<std::int32_t>& searchlights() const noexcept {
    return m_searchlights;
  }

 private:
  friend class neighbor_table;

  volume_geometry m_geometry;
  std::vector<std::int64_t> m_offsets{0};
  std::vector<std::int32_t> m_searchlights;
};

/// \brief Every searchlight of a mask, stored once as CSR (center → in-mask data columns) and
/// shared by all subjects, models and permutations.
///
/// A random-access range of searchlight views whose members stay valid as long as the table.
/// Build it with make_neighbor_table(); io::save_neighbor_table / load_neighbor_table store it.
/// Counts and indices are index_t; the CSR storage (centers(), offsets(), columns()) keeps
/// compact fixed-width types.
class neighbor_table {
 public:
  neighbor_table() = default;

  /// Assembles a table from its parts (as a loader does), checking that they fit together.
  /// `blocks` describes the blocks when kind is center_kind::block and is ignored otherwise.
  neighbor_table(volume_geometry geometry, index_t mask_voxels, center_kind kind,
                 neighborhood::paper_blocks blocks, std::vector<ijk> centers,
                 std::vector<std::int64_t> offsets, std::vector<std::int32_t> columns)
      : m_geometry(std::move(geometry)),
        m_mask_voxels(mask_voxels),
        m_kind(kind),
        m_blocks(blocks),
        m_centers(std::move(centers)),
        m_offsets(std::move(offsets)),
        m_columns(std::move(columns)) {
    // Each message names the part ('offsets', ...) and the position, so that
    // io::load_neighbor_table can report them as fields of the file.
    const auto fail = [](const std::string& problem) {
      detail::throw_invalid_argument("neighbor_table", problem);
    };
    if (m_mask_voxels < 0 || m_mask_voxels > m_geometry.voxel_count())
      fail(detail::concat("'mask_voxels': expected 0 <= mask voxels <= ", m_geometry.voxel_count(),
                          ", got ", m_mask_voxels));
    if (m_offsets.size() != m_centers.size() + 1)
      fail(detail::concat("'offsets': expected ", m_centers.size() + 1,
                          " offsets (one more than the centers), got ", m_offsets.size()));
    if (m_offsets.front() != 0)
      fail(detail::concat("'offsets': expected 0 first, got ", m_offsets.front()));
    for (std::size_t c = 0; c < m_centers.size(); ++c) {
      if (m_offsets[c + 1] < m_offsets[c])
        fail(detail::concat("'offsets': expected non-decreasing offsets, got ", m_offsets[c + 1],
                            " after ", m_offsets[c], " at center ", c));
      if (!m_geometry.contains(m_centers[c]))
        fail(detail::concat("'centers': expected centers inside the volume, got (", m_centers[c].i,
                            ", ", m_centers[c].j, ", ", m_centers[c].k, ") at center ", c));
      if (c > 0 && m_geometry.linear(m_centers[c]) <= m_geometry.linear(m_centers[c - 1]))
        m_sorted = false;
    }
    if (m_offsets.back() != std::int64_t(m_columns.size()))
      fail(detail::concat("'offsets': expected the last offset to be the member count ",
                          m_columns.size(), ", got ", m_offsets.back()));
    if (m_kind == center_kind::block &&
        (m_blocks.radius < 0 || m_blocks.stride < 1 || m_blocks.radius > max_block_parameter ||
         m_blocks.stride > max_block_parameter))
      fail(detail::concat("'blocks': expected 0 <= radius <= ", max_block_parameter,
                          " and 1 <= stride <= ", max_block_parameter, ", got radius ",
                          m_blocks.radius, " and stride ", m_blocks.stride));
    for (std::size_t p = 0; p < m_columns.size(); ++p)
      if (m_columns[p] < 0 || m_columns[p] >= m_mask_voxels)
        fail(detail::concat("'columns': expected members in [0, ", m_mask_voxels, "), got ",
                            m_columns[p], " at position ", p));
    for (std::size_t c = 0; c < m_centers.size(); ++c)
      m_max_members = std::max(m_max_members, index_t(m_offsets[c + 1] - m_offsets[c]));
  }

  [[nodiscard]] index_t size() const noexcept { return index_t(m_centers.size()); }
  [[nodiscard]] bool empty() const noexcept { return m_centers.empty(); }
  /// Searchlight c, for 0 <= c < size().
  [[nodiscard]] searchlight operator[](index_t c) const noexcept {
    const auto at = std::size_t(c);
    const auto first = std::size_t(m_offsets[at]);
    const auto count = std::size_t(m_offsets[at + 1]) - first;
    return {c, m_centers[at], std::span<const std::int32_t>(m_columns.data() + first, count)};
  }

  [[nodiscard]] const volume_geometry& geometry() const noexcept { return m_geometry; }
  /// Columns of the data matrix the members index (the mask's voxel count).
  [[nodiscard]] index_t mask_voxels() const noexcept { return m_mask_voxels; }
  [[nodiscard]] center_kind kind() const noexcept { return m_kind; }
  /// The block parameters when kind() is center_kind::block.
  [[nodiscard]] const neighborhood::paper_blocks& blocks() const noexcept { return m_blocks; }
  [[nodiscard]] index_t max_members() const noexcept { return m_max_members; }
  /// CSR storage: the centers, offsets() (size() + 1 entries) into columns().
  [[nodiscard]] const std::vector<ijk>& centers() const noexcept { return m_centers; }
  [[nodiscard]] const std::vector<std::int64_t>& offsets() const noexcept { return m_offsets; }
  [[nodiscard]] const std::vector<std::int32_t>& columns() const noexcept { return m_columns; }

  /// \brief The searchlight centered at voxel v: its index, or −1 when there is none.
  ///
  /// Voxel centers (sphere, diamond, cube, nearest): the searchlight whose center is v, one per
  /// in-mask voxel; −1 for voxels outside the mask or left out by min_voxels. Blocks: the block
  /// whose core holds v, the box of stride voxels per axis from corner + radius (clipped to the
  /// volume), which tile the volume; −1 when that block was not kept (its core misses the mask)
  /// or v lies within radius of the low edges. Either way it is the searchlight whose value
  /// paint() puts at v (with block_painting::core); for blocks the mask is not consulted.
  /// O(log size()) for centers in C order (every table make_neighbor_table() builds), else
  /// O(size()), the first match.
  /// \throws invalid_argument if v lies outside the grid.
  [[nodiscard]] index_t centered_at(const ijk& v) const {
    detail::require_inside(m_geometry, v, "neighbor_table::centered_at");
    if (m_kind == center_kind::voxel) return find_center(v);
    // Cores start `radius` voxels into blocks whose corners lie on the stride grid from 0.
    const auto corner = [&](int x) {
      return x < m_blocks.radius ? -1 : (x - m_blocks.radius) / m_blocks.stride * m_blocks.stride;
    };
    const ijk key{corner(v.i), corner(v.j), corner(v.k)};
    return key.i < 0 || key.j < 0 || key.k < 0 ? -1 : find_center(key);
  }

  /// The same for data column `column` of `mask`, the mask the table was built on.
  /// \throws invalid_argument unless 0 <= column < mask_voxels(), or if `mask` is not the table's
  /// mask.
  [[nodiscard]] index_t centered_at(const brain_mask& mask, index_t column) const {
    constexpr const char* function = "neighbor_table::centered_at";
    detail::require_table_mask(m_geometry, m_mask_voxels, mask, function);
    if (column < 0 || column >= m_mask_voxels)
      detail::throw_invalid_argument(function, detail::concat("expected a data column in [0, ",
                                                              m_mask_voxels, "), got ", column));
    return centered_at(mask.voxels()[std::size_t(column)]);
  }

  /// \brief The transpose of the table: which searchlights contain each in-mask voxel. O(members)
  /// time and memory (as much again as columns()); build it once and keep it.
  [[nodiscard]] voxel_membership membership() const {
    if (size() > index_t(std::numeric_limits<std::int32_t>::max()))
      detail::throw_invalid_argument(
          "neighbor_table::membership",
          detail::concat("expected fewer than 2^31 searchlights, got ", size()));
    voxel_membership out;
    out.m_geometry = m_geometry;
    auto& offsets = out.m_offsets;
    offsets.assign(std::size_t(m_mask_voxels) + 1, 0);
    for (const std::int32_t col : m_columns) ++offsets[std::size_t(col) + 1];
    std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
    // Searchlights in increasing order fill each voxel's list in increasing order.
    std::vector<std::int64_t> next(offsets.begin(), offsets.end() - 1);
    out.m_searchlights.resize(m_columns.size());
    for (std::size_t c = 0; c < m_centers.size(); ++c)
      for (auto p = std::size_t(m_offsets[c]); p < std::size_t(m_offsets[c + 1]); ++p)
        out.m_searchlights[std::size_t(next[std::size_t(m_columns[p])]++)] = std::int32_t(c);
    return out;
  }

  class iterator {
   public:
    using iterator_concept = std::random_access_iterator_tag;
    using iterator_category = std::input_iterator_tag;  // yields views by value
    using value_type = searchlight;
    using difference_type = std::ptrdiff_t;
    using reference = searchlight;

    iterator() = default;
    iterator(const neighbor_table* table, index_t c) : m_table(table), m_c(c) {}
    reference operator*() const noexcept { return (*m_table)[m_c]; }
    reference operator[](difference_type n) const noexcept { return (*m_table)[m_c + n]; }
    iterator& operator++() noexcept { return ++m_c, *this; }
    iterator operator++(int) noexcept { return {m_table, m_c++}; }
    iterator& operator--() noexcept { return --m_c, *this; }
    iterator operator--(int) noexcept { return {m_table, m_c--}; }
    iterator& operator+=(difference_type n) noexcept {
      m_c += n;
      return *this;
    }
    iterator& operator-=(difference_type n) noexcept { return *this += -n; }
    friend iterator operator+(iterator it, difference_type n) noexcept { return it += n; }
    friend iterator operator+(difference_type n, iterator it) noexcept { return it += n; }
    friend iterator operator-(iterator it, difference_type n) noexcept { return it -= n; }
    friend difference_type operator-(const iterator& a, const iterator& b) noexcept {
      return a.m_c - b.m_c;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.m_c == b.m_c; }
    friend auto operator<=>(const iterator& a, const iterator& b) noexcept {
      return a.m_c <=> b.m_c;
    }

   private:
    const neighbor_table* m_table = nullptr;
    index_t m_c = 0;
  };

  [[nodiscard]] iterator begin() const noexcept { return {this, 0}; }
  [[nodiscard]] iterator end() const noexcept { return {this, size()}; }

 private:
  [[nodiscard]] index_t find_center(const ijk& key) const noexcept {
    auto it = m_centers.end();
    if (m_sorted) {
      it = std::lower_bound(m_centers.begin(), m_centers.end(), m_geometry.linear(key),
                            [&](const ijk& c, index_t at) { return m_geometry.linear(c) < at; });
      if (it != m_centers.end() && !(*it == key)) it = m_centers.end();
    } else {
      it = std::find(m_centers.begin(), m_centers.end(), key);
    }
    return it == m_centers.end() ? -1 : index_t(it - m_centers.begin());
  }

  volume_geometry m_geometry;
  index_t m_mask_voxels = 0;
  center_kind m_kind = center_kind::voxel;
  neighborhood::paper_blocks m_blocks{};
  std::vector<ijk> m_centers;
  std::vector<std::int64_t> m_offsets{0};
  std::vector<std::int32_t> m_columns;
  index_t m_max_members = 0;
  bool m_sorted = true;  // centers strictly increasing in C order: binary search in centered_at
};

/// \brief The neighbor table of a range: every searchlight's members, computed in parallel.
/// Identical for any thread count (centers keep their order).
/// \throws invalid_argument if the table may exceed range.options().memory_budget (bounded by
/// candidates × max_members() before any work).
[[nodiscard]] inline neighbor_table make_neighbor_table(const searchlight_range& range) {
  const index_t n = range.candidates();
  detail::require_table_budget(range.neighborhood_name(), n, range.max_members(), range.options());
  std::vector<std::int64_t> counts(std::size_t(n), 0);
  detail::parallel_error error;  // allocation failures must not escape the parallel regions
  DNN2BRAIN_OMP(parallel)
  {
    std::vector<std::int32_t> members;
    DNN2BRAIN_OMP(for schedule(static))
    for (index_t c = 0; c < n; ++c)
      error.run(c, [&] {
        range.fill(c, members);
        const auto count = index_t(members.size());
        counts[std::size_t(c)] = count >= range.options().min_voxels ? count : -1;
      });
  }
  error.rethrow();
  // Kept centers and their CSR offsets, in candidate order.
  std::vector<ijk> centers;
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int64_t> slot(std::size_t(n), -1);  // candidate → kept index
  for (std::size_t c = 0; c < std::size_t(n); ++c)
    if (counts[c] >= 0) {
      slot[c] = std::int64_t(centers.size());
      centers.push_back(range.center(index_t(c)));
      offsets.push_back(offsets.back() + counts[c]);
    }
  std::vector<std::int32_t> columns(std::size_t(offsets.back()));
  DNN2BRAIN_OMP(parallel)
  {
    std::vector<std::int32_t> members;
    DNN2BRAIN_OMP(for schedule(static))
    for (index_t c = 0; c < n; ++c)
      error.run(c, [&] {
        const std::int64_t kept = slot[std::size_t(c)];
        if (kept < 0) return;
        range.fill(c, members);
        std::copy(members.begin(), members.end(), columns.begin() + offsets[std::size_t(kept)]);
      });
  }
  error.rethrow();
  return {range.mask().geometry(), range.mask().size(), range.kind(),      range.blocks(),
          std::move(centers),      std::move(offsets),  std::move(columns)};
}

/// \brief The neighbor table of `mask` under a neighborhood policy from dnn2brain::neighborhood.
///
/// `make_neighbor_table(mask, neighborhood::sphere{2.0})`: one searchlight per in-mask voxel,
/// members in-mask only (truncated at the mask's edge), centers with fewer than
/// options.min_voxels members left out. Paper blocks give one searchlight per kept block.
/// \throws invalid_argument if the table may exceed options.memory_budget: the bound (centers ×
/// the most members a searchlight can have) is checked before the table is built, and when the
/// neighborhood covers the volume (an absurd radius) even before its offsets are listed.
template <typename Neighborhood>
[[nodiscard]] neighbor_table make_neighbor_table(const brain_mask& mask, const Neighborhood& shape,
                                                 const neighborhood_options& options = {}) {
  if constexpr (!std::is_same_v<Neighborhood, neighborhood::paper_blocks>) {
    // When the offset count is known without listing the offsets (nearest; or a ball that fills
    // its box, as any ball larger than the volume does), the bound is checked first.
    const detail::offset_ball ball = detail::ball_of(shape, mask.geometry());
    index_t members = ball.take;
    if (members == 0 && ball.fills_box())
      members = index_t(std::min<std::uint64_t>(ball.box_count(), std::uint64_t(mask.size())));
    if (members > 0)
      detail::require_table_budget(ball.name, mask.size(), std::min(members, mask.size()), options);
  }
  return make_neighbor_table(searchlight_range(mask, shape, options));
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_NEIGHBOR_TABLE_HPP
