# arm64 libraries: `kforge emit --target arm64-...` merges aarch64 builds of
# kforge_runtime, kforge_targets and the backends' bridges, which the
# ExternalProject `kforge_aarch64` (cmake/aarch64-runtime/) builds here with
# the cross compiler; with tests on, it also builds the unit tests against an
# emitted arm64 library and ctest runs them under qemu-aarch64.
#
#   KFORGE_ARM64        ON (default when the cross compiler is found): build
#                       the aarch64 archives and tests
#   KFORGE_ARM64_ALL_FORMATS  ON (default): the qemu tests also cover the
#                       whole lowbit_linear instantiation list (every format,
#                       f32 / bf16 / int8 activations), as the x86-64 tests
#                       do; OFF: only test/kernels/lowbit_int4.kf (saves the
#                       emit of three more arm64 libraries)
#   KFORGE_CXX_AARCH64  aarch64 C++ compiler (default aarch64-linux-gnu-g++);
#                       `kforge emit` compiles arm64 glue with it (the
#                       environment variable of the same name overrides)
#
# Sets, for codegen/CMakeLists.txt (BuildPaths.h):
#   KFORGE_AARCH64_CXX, KFORGE_AARCH64_AR, KFORGE_AARCH64_ARCHIVES ('|' list,
#   empty when KFORGE_ARM64 is OFF).
find_program(KFORGE_CXX_AARCH64 NAMES aarch64-linux-gnu-g++ DOC "aarch64 C++ cross compiler")
if(KFORGE_CXX_AARCH64)
  set(_kforge_arm64_default ON)
else()
  set(_kforge_arm64_default OFF)
endif()
option(KFORGE_ARM64 "Build the aarch64 runtime archives `kforge emit` needs for arm64 targets (and their qemu tests)"
       ${_kforge_arm64_default})
option(KFORGE_ARM64_ALL_FORMATS "qemu tests of arm64 libraries cover every lowbit_linear format" ON)

set(KFORGE_AARCH64_CXX "")
set(KFORGE_AARCH64_AR "")
set(KFORGE_AARCH64_ARCHIVES "")
if(NOT KFORGE_ARM64)
  message(STATUS "kforge: arm64 libraries off (KFORGE_ARM64=OFF; needs aarch64-linux-gnu-g++ and libtbb-dev:arm64)")
  return()
endif()
if(NOT KFORGE_CXX_AARCH64)
  message(FATAL_ERROR "KFORGE_ARM64=ON needs an aarch64 C++ compiler: install g++-aarch64-linux-gnu "
                      "(scripts/install-deps.sh), set KFORGE_CXX_AARCH64, or configure with -DKFORGE_ARM64=OFF")
endif()

# GNU ar of the cross binutils: the host's ar cannot index aarch64 objects.
get_filename_component(_kforge_cxx_dir "${KFORGE_CXX_AARCH64}" DIRECTORY)
get_filename_component(_kforge_cxx_name "${KFORGE_CXX_AARCH64}" NAME)
string(REGEX REPLACE "g\\+\\+(-[0-9.]+)?$" "ar" _kforge_ar_name "${_kforge_cxx_name}")
find_program(KFORGE_AR_AARCH64 NAMES ${_kforge_ar_name} aarch64-linux-gnu-ar HINTS "${_kforge_cxx_dir}"
             DOC "GNU ar for aarch64 objects" REQUIRED)

get_target_property(_kforge_halide_inc Halide::Runtime INTERFACE_INCLUDE_DIRECTORIES)
list(GET _kforge_halide_inc 0 _kforge_halide_inc)

set(_kforge_a64_dir "${CMAKE_BINARY_DIR}/aarch64")
set(_kforge_a64_archives
  "${_kforge_a64_dir}/lib/libkforge_runtime.a"
  "${_kforge_a64_dir}/lib/libkforge_targets.a"
  "${_kforge_a64_dir}/lib/libkforge_halide_bridge.a"
  "${_kforge_a64_dir}/lib/libkforge_mlir_bridge.a")
set(KFORGE_AARCH64_CXX "${KFORGE_CXX_AARCH64}")
set(KFORGE_AARCH64_AR "${KFORGE_AR_AARCH64}")
list(JOIN _kforge_a64_archives "|" KFORGE_AARCH64_ARCHIVES)

include(ExternalProject)
# Its default build (all) makes the archives and needs nothing of the host
# build, so it runs beside it.
ExternalProject_Add(kforge_aarch64
  SOURCE_DIR "${PROJECT_SOURCE_DIR}/cmake/aarch64-runtime"
  BINARY_DIR "${_kforge_a64_dir}"
  CMAKE_ARGS
    -DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/toolchains/aarch64-linux-gnu.cmake
    -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DKFORGE_CXX_AARCH64=${KFORGE_CXX_AARCH64}
    -DKFORGE_SOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DKFORGE_HALIDE_INCLUDE_DIR=${_kforge_halide_inc}
    -DKFORGE_BUILD_TESTS=${KFORGE_BUILD_TESTS}
    -DKFORGE_ARM64_ALL_FORMATS=${KFORGE_ARM64_ALL_FORMATS}
    -DKFORGE_EXECUTABLE=$<TARGET_FILE:kforge>
  BUILD_ALWAYS ON
  BUILD_BYPRODUCTS ${_kforge_a64_archives}
  INSTALL_COMMAND ""
  TEST_COMMAND "")

if(KFORGE_BUILD_TESTS)
  # The tests need the host kforge (to emit their library): a second target.
  if(CMAKE_GENERATOR MATCHES "Make")
    set(_kforge_a64_tests_cmd $(MAKE) -C "${_kforge_a64_dir}" kforge_aarch64_tests)  # shares make's jobserver
  else()
    set(_kforge_a64_tests_cmd "${CMAKE_COMMAND}" --build "${_kforge_a64_dir}" --target kforge_aarch64_tests)
  endif()
  add_custom_target(kforge_aarch64_tests ALL
    COMMAND ${_kforge_a64_tests_cmd}
    COMMENT "aarch64 unit tests: emit an arm64 library, cross-compile the tests")
  add_dependencies(kforge_aarch64_tests kforge_aarch64 kforge)
  # ctest of this build runs the tests registered there, named aarch64.*.
  file(WRITE "${CMAKE_BINARY_DIR}/kforge_aarch64_tests.cmake"
"if(EXISTS \"${_kforge_a64_dir}/tests/CTestTestfile.cmake\")
  include(\"${_kforge_a64_dir}/tests/CTestTestfile.cmake\")
else()
  add_test(aarch64_NOT_BUILT \"${CMAKE_COMMAND}\" -E echo \"aarch64 tests not built: cmake --build ${CMAKE_BINARY_DIR} --target kforge_aarch64_tests\")
  set_tests_properties(aarch64_NOT_BUILT PROPERTIES WILL_FAIL TRUE)
endif()
")
  set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY TEST_INCLUDE_FILES
               "${CMAKE_BINARY_DIR}/kforge_aarch64_tests.cmake")
endif()
