# Warnings and sanitizers for kforge's own targets (not for generated code).
add_library(kforge_warnings INTERFACE)
target_compile_options(kforge_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wno-unused-parameter -Wshadow=local)
if(KFORGE_SANITIZE)
  target_compile_options(kforge_warnings INTERFACE -fsanitize=${KFORGE_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(kforge_warnings INTERFACE -fsanitize=${KFORGE_SANITIZE})
endif()
