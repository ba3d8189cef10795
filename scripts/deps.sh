# Sourced by the scripts in this folder: installs Debian packages that are missing.
ensure_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building dnn2brain and its programs needs (python3-numpy, -scipy, -nibabel: the reference
# of ctest's paper_compat tests, examples/CMakeLists.txt).
ensure_build_packages() {
  ensure_packages cmake make g++ pkg-config libeigen3-dev xtensor-dev libboost-math-dev \
    libnifti2-dev libmatio-dev libhdf5-dev zlib1g-dev nlohmann-json3-dev libcli11-dev \
    python3-numpy python3-scipy python3-nibabel
}
