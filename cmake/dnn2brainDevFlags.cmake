# Warnings and sanitizers for dnn2brain's own tests, examples and benchmarks only; consumers of the
# dnn2brain target never see these flags.
option(DNN2BRAIN_SANITIZE "Build our tests and examples with AddressSanitizer + UndefinedBehaviorSanitizer" OFF)
option(DNN2BRAIN_WERROR "Treat warnings in our own programs as errors" OFF)

function(dnn2brain_dev_target target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                             -Wno-sign-conversion)
    # Eigen and xtensor are system headers; their own warnings are not ours to fix.
    if(DNN2BRAIN_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(DNN2BRAIN_SANITIZE)
      target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                               -fno-sanitize-recover=undefined)
      target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    endif()
  endif()
endfunction()
