# Finds nifti_clib (Debian: libnifti2-dev) and defines NIfTI::znz, NIfTI::niftiio (NIfTI-1) and
# NIfTI::nifti2 (reads NIfTI-1 and NIfTI-2). Debian 12's own NIFTIConfig.cmake points at
# /usr/lib/libznz.so.3.0.0, which does not exist (the libraries live in the multiarch directory), so
# this module looks the files up itself.
include(FindPackageHandleStandardArgs)
include(CMakeFindDependencyMacro)
find_dependency(ZLIB)

find_path(NIfTI_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti)
find_library(NIfTI_znz_LIBRARY znz)
find_library(NIfTI_niftiio_LIBRARY niftiio)
find_library(NIfTI_nifti2_LIBRARY nifti2)
mark_as_advanced(NIfTI_INCLUDE_DIR NIfTI_znz_LIBRARY NIfTI_niftiio_LIBRARY NIfTI_nifti2_LIBRARY)

find_package_handle_standard_args(NIfTI
  REQUIRED_VARS NIfTI_nifti2_LIBRARY NIfTI_niftiio_LIBRARY NIfTI_znz_LIBRARY NIfTI_INCLUDE_DIR)

if(NIfTI_FOUND AND NOT TARGET NIfTI::znz)
  add_library(NIfTI::znz UNKNOWN IMPORTED)
  set_target_properties(NIfTI::znz PROPERTIES
    IMPORTED_LOCATION "${NIfTI_znz_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${NIfTI_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS HAVE_ZLIB
    INTERFACE_LINK_LIBRARIES ZLIB::ZLIB)
  foreach(lib niftiio nifti2)
    add_library(NIfTI::${lib} UNKNOWN IMPORTED)
    set_target_properties(NIfTI::${lib} PROPERTIES
      IMPORTED_LOCATION "${NIfTI_${lib}_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${NIfTI_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "NIfTI::znz;m")
  endforeach()
endif()
