# `cmake --install <build> --prefix P` puts the generator where a user's CMake
# project finds it with find_package(kforge) (examples/cmake-consumer):
#
#   P/bin/kforge                          the generator
#   P/lib/kforge/*.a                      the runtime archives `kforge emit` merges into each library
#   P/lib/kforge/aarch64/*.a              the same for arm64 targets (KFORGE_ARM64=ON)
#   P/lib/kforge/include/codegen/...      the backend bridges the generated glue compiles against
#   P/include/kforge/*.h                  the runtime's public headers (also copied beside each emitted header)
#   P/lib/cmake/kforge/                   kforgeConfig.cmake: kforge::kforge and kforge_emit_library()
#
# An installed kforge finds these relative to its own executable
# (codegen/emit/Toolchain.cpp); nothing of the build or source tree is needed.
include(CMakePackageConfigHelpers)

# The installed kforge loads libMLIR / libLLVM 19 from LLVM 19's own lib
# directory (not on the loader's default path): keep it in the RUNPATH.
set_target_properties(kforge PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
install(TARGETS kforge RUNTIME DESTINATION bin)
install(FILES $<TARGET_FILE:kforge_runtime> $<TARGET_FILE:kforge_targets> $<TARGET_FILE:kforge_halide_bridge>
              $<TARGET_FILE:kforge_mlir_bridge>
        DESTINATION lib/kforge)
install(DIRECTORY runtime/include/kforge DESTINATION include)
file(GLOB_RECURSE _kforge_bridges RELATIVE "${PROJECT_SOURCE_DIR}" CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/codegen/*.h")
list(FILTER _kforge_bridges INCLUDE REGEX "/bridge/[^/]+\\.h$")
foreach(h IN LISTS _kforge_bridges)
  get_filename_component(_dir "${h}" DIRECTORY)
  install(FILES "${h}" DESTINATION "lib/kforge/include/${_dir}")
endforeach()
if(KFORGE_AARCH64_ARCHIVES)
  string(REPLACE "|" ";" _kforge_a64 "${KFORGE_AARCH64_ARCHIVES}")
  install(FILES ${_kforge_a64} DESTINATION lib/kforge/aarch64)
endif()

configure_package_config_file(cmake/kforgeConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/kforgeConfig.cmake"
  INSTALL_DESTINATION lib/cmake/kforge NO_SET_AND_CHECK_MACRO NO_CHECK_REQUIRED_COMPONENTS_MACRO)
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/kforgeConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/kforgeConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/kforgeConfigVersion.cmake"
              cmake/KforgeEmit.cmake
        DESTINATION lib/cmake/kforge)
