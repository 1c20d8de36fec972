# kforge_emit_library(<lib> KERNELS <file.kf> TARGETS <target>... [KFORGE <path>])
#
# KFORGE: the kforge executable to run (default: this build's `kforge` target,
# or kforge::kforge where find_package(kforge) gave it; the aarch64 test
# project passes the host build's).
#
# Runs `kforge emit` at build time and defines the imported target
# kforge::<lib> (static library, include dirs and link dependencies), the same
# way a consumer would use the emitted lib/cmake package.
function(kforge_emit_library lib)
  cmake_parse_arguments(ARG "" "KERNELS;KFORGE" "TARGETS" ${ARGN})
  if(NOT ARG_KFORGE)
    if(KFORGE_EMIT_DEFAULT_KFORGE)
      set(ARG_KFORGE ${KFORGE_EMIT_DEFAULT_KFORGE})
    else()
      set(ARG_KFORGE kforge)
    endif()
  endif()
  # Inside kforge's build, emit waits for the archives it merges; an installed
  # kforge has them already.
  set(_deps "")
  if(TARGET kforge_runtime)
    set(_deps kforge_runtime kforge_targets kforge_halide_bridge kforge_mlir_bridge)
  endif()
  if(TARGET ${ARG_KFORGE})
    get_target_property(_imported ${ARG_KFORGE} IMPORTED)
    if(_imported)
      list(APPEND _deps "$<TARGET_FILE:${ARG_KFORGE}>")
    else()
      list(APPEND _deps ${ARG_KFORGE})
    endif()
  else()
    list(APPEND _deps "${ARG_KFORGE}")
  endif()
  if(NOT ARG_KERNELS OR NOT ARG_TARGETS)
    message(FATAL_ERROR "kforge_emit_library(${lib}): KERNELS and TARGETS are required")
  endif()
  set(out "${CMAKE_CURRENT_BINARY_DIR}/kforge_${lib}")
  set(archive "${out}/lib/libkforge_${lib}.a")
  set(target_args "")
  foreach(t IN LISTS ARG_TARGETS)
    list(APPEND target_args --target ${t})
  endforeach()
  add_custom_command(
    OUTPUT "${archive}" "${out}/include/kforge_${lib}.h"
    COMMAND ${ARG_KFORGE} emit "${ARG_KERNELS}" ${target_args} -o "${out}" --name ${lib}
    DEPENDS ${_deps} "${ARG_KERNELS}"
    COMMENT "kforge emit ${lib} (${ARG_TARGETS})"
    VERBATIM)
  add_custom_target(kforge_emit_${lib} DEPENDS "${archive}")
  file(MAKE_DIRECTORY "${out}/include")
  add_library(kforge::${lib} STATIC IMPORTED GLOBAL)
  set_target_properties(kforge::${lib} PROPERTIES
    IMPORTED_LOCATION "${archive}"
    INTERFACE_INCLUDE_DIRECTORIES "${out}/include"
    INTERFACE_LINK_LIBRARIES "TBB::tbb;Threads::Threads;${CMAKE_DL_LIBS};m;stdc++")
  if(KFORGE_SANITIZE)
    # The merged kforge runtime is instrumented: its consumers link the sanitizer runtime.
    set_property(TARGET kforge::${lib} PROPERTY INTERFACE_LINK_OPTIONS -fsanitize=${KFORGE_SANITIZE})
  endif()
  add_dependencies(kforge::${lib} kforge_emit_${lib})
  # The targets, in variant order (tests that name variants read it).
  set_property(TARGET kforge::${lib} PROPERTY KFORGE_TARGETS "${ARG_TARGETS}")
endfunction()

# kforge_lowbit_instantiations(<act> <out.kf> [script options...]): the
# lowbit_linear family's instantiation list for one activation kind (f32,
# bf16, int8), generated at build time by
# dsl/families/lowbit_linear/instantiations.py (e.g. `--backend mlir`).
function(kforge_lowbit_instantiations act out)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../dsl/families/lowbit_linear/instantiations.py")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${Python3_EXECUTABLE} "${script}" --act ${act} ${ARGN} > "${out}"
    DEPENDS "${script}"
    COMMENT "lowbit_linear instantiations (${act} activations)"
    VERBATIM)
endfunction()
