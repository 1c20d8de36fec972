# Warnings and sanitizers for kforge's own targets (not for generated code).
add_library(kforge_warnings INTERFACE)
target_compile_options(kforge_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wno-unused-parameter $<IF:$<CXX_COMPILER_ID:GNU>,-Wshadow=local,-Wshadow>)
if(KFORGE_SANITIZE)
  # Every report fails the test that triggered it (UBSan would go on otherwise).
  target_compile_options(kforge_warnings INTERFACE
    -fsanitize=${KFORGE_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(kforge_warnings INTERFACE -fsanitize=${KFORGE_SANITIZE} -fno-sanitize-recover=all)
endif()
