# tests/fuzz.cmake: libFuzzer targets for every decoder of untrusted input
# (tests/fuzz/fuzz_*.c, seeds in tests/fuzz/corpus/<target>/). Built only
# with -DFT_FUZZ=ON and clang, in a tree of its own (build-fuzz), e.g.
#   CC=clang cmake -S . -B build-fuzz -DFT_FUZZ=ON && make -C build-fuzz ft_fuzz_all
# ops/fuzz.sh [SECONDS] builds them and runs each for a bounded time.
#
# The libraries a target needs are compiled again here with coverage
# instrumentation (-fsanitize=fuzzer-no-link) and ASan+UBSan, from the
# source lists of the project's own targets, so the rest of the tree is
# built as usual and nothing outside this file changes.
option(FT_FUZZ "Build the libFuzzer targets (clang only)" OFF)
if(NOT FT_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "FT_FUZZ needs clang (CC=clang); this is ${CMAKE_C_COMPILER_ID}")
endif()

set(FT_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
  -fno-omit-frame-pointer -g)

# ft_fuzz_copy_lib(NEW ORIG DEPS...): NEW = ORIG's sources rebuilt with the
# fuzz flags, linked to DEPS instead of ORIG's own project libraries.
function(ft_fuzz_copy_lib new orig)
  get_target_property(srcs ${orig} SOURCES)
  get_target_property(dir ${orig} SOURCE_DIR)
  set(abs)
  foreach(s ${srcs})
    if(IS_ABSOLUTE ${s})
      list(APPEND abs ${s})
    else()
      list(APPEND abs ${dir}/${s})
    endif()
  endforeach()
  add_library(${new} STATIC EXCLUDE_FROM_ALL ${abs})
  # Generated sources (the embedded rule pack) are made by ORIG's directory.
  foreach(s ${abs})
    if(s MATCHES "^${CMAKE_BINARY_DIR}/")
      set_source_files_properties(${s} PROPERTIES GENERATED TRUE)
    endif()
  endforeach()
  add_dependencies(${new} ${orig})
  target_include_directories(${new} PUBLIC ${dir})
  target_compile_options(${new} PRIVATE ${FT_FUZZ_FLAGS})
  target_link_libraries(${new} PUBLIC ${ARGN})
endfunction()

ft_fuzz_copy_lib(ft_core_fuzz ft_core ft_proto PkgConfig::SODIUM PkgConfig::JANSSON)
ft_fuzz_copy_lib(ft_lmdb_fuzz ft_lmdb ft_core_fuzz PkgConfig::LMDB)
ft_fuzz_copy_lib(ft_gaps_fuzz ft_gaps ft_core_fuzz m)
ft_fuzz_copy_lib(ft_httpparse_fuzz ft_httpparse ft_core_fuzz)
ft_fuzz_copy_lib(ft_hubusers_fuzz ft_hubusers ft_lmdb_fuzz)

set(FT_FUZZ_TARGETS)
# ft_fuzz_target(NAME LIBS...): tests/fuzz/NAME.c linked with libFuzzer.
function(ft_fuzz_target name)
  add_executable(${name} EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${name}.c)
  target_compile_options(${name} PRIVATE ${FT_FUZZ_FLAGS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${name} PRIVATE ${ARGN})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/fuzz)
  set(FT_FUZZ_TARGETS ${FT_FUZZ_TARGETS} ${name} PARENT_SCOPE)
endfunction()

ft_fuzz_target(fuzz_record ft_lmdb_fuzz)
ft_fuzz_target(fuzz_entry ft_core_fuzz)
ft_fuzz_target(fuzz_wire ft_core_fuzz)
ft_fuzz_target(fuzz_mediawire ft_core_fuzz)
ft_fuzz_target(fuzz_manifest ft_core_fuzz)
ft_fuzz_target(fuzz_rules ft_gaps_fuzz)
ft_fuzz_target(fuzz_http ft_httpparse_fuzz ft_hubusers_fuzz)

# Seeds are made by ft_fuzz_seeds (a normal program) and kept in the repo.
add_executable(ft_fuzz_seeds EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/ft_fuzz_seeds.c)
target_link_libraries(ft_fuzz_seeds PRIVATE ft_core_fuzz)
target_compile_options(ft_fuzz_seeds PRIVATE -fsanitize=address,undefined)
target_link_options(ft_fuzz_seeds PRIVATE -fsanitize=address,undefined)

add_custom_target(ft_fuzz_all DEPENDS ${FT_FUZZ_TARGETS})

# A short, reproducible run of each on its seeds (30000 executions from
# libFuzzer seed 1), through CTest (label fuzz).
foreach(t ${FT_FUZZ_TARGETS})
  add_test(NAME ${t}_runs_clean_on_seeds COMMAND bash ${CMAKE_SOURCE_DIR}/tests/fuzz/run_one.sh
    ${CMAKE_BINARY_DIR}/tests/fuzz/${t} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${t} 3)
  set_tests_properties(${t}_runs_clean_on_seeds PROPERTIES TIMEOUT 120 LABELS fuzz
    ENVIRONMENT "FT_TEST_TMP=${CMAKE_BINARY_DIR}/test-tmp;FT_FUZZ_RUNS=30000")
endforeach()
