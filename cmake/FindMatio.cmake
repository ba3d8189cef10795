# Finds matio (Debian: libmatio-dev), the MATLAB .mat reader, and defines Matio::matio. Debian's
# shared libmatio links HDF5 itself, so v7.3 files work without naming HDF5 here.
include(FindPackageHandleStandardArgs)

find_path(Matio_INCLUDE_DIR matio.h)
find_library(Matio_LIBRARY matio)
mark_as_advanced(Matio_INCLUDE_DIR Matio_LIBRARY)
if(Matio_INCLUDE_DIR AND EXISTS "${Matio_INCLUDE_DIR}/matio_pubconf.h")
  file(STRINGS "${Matio_INCLUDE_DIR}/matio_pubconf.h" _matio_version REGEX "#define MATIO_VERSION_STR ")
  string(REGEX REPLACE ".*\"(.*)\".*" "\\1" Matio_VERSION "${_matio_version}")
endif()

find_package_handle_standard_args(Matio REQUIRED_VARS Matio_LIBRARY Matio_INCLUDE_DIR
                                  VERSION_VAR Matio_VERSION)

if(Matio_FOUND AND NOT TARGET Matio::matio)
  add_library(Matio::matio UNKNOWN IMPORTED)
  set_target_properties(Matio::matio PROPERTIES
    IMPORTED_LOCATION "${Matio_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Matio_INCLUDE_DIR}")
endif()
