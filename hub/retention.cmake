# Retention, legal holds, case bundles and disc-image archives (retention.c,
# bundle.c, cmd_retention.c), and the standalone verifier fieldtrail-verify
# (hub/verifier/): it links the bundle format, a handful of common sources
# (entries, media hashing, receipts, keys) and libsodium, protobuf-c and
# jansson -- no hub store, no LMDB, no network. It is written next to
# fieldtrail-hub (BUILD/hub/) so that `archive` finds it, with a static build
# (fieldtrail-verify-static, not under the sanitizers) and a source tarball
# for the disc.
set(FT_VERIFY_DIR ${CMAKE_CURRENT_SOURCE_DIR}/verifier)
add_library(ft_bundlefmt STATIC ${FT_VERIFY_DIR}/bundlefmt.c ${FT_VERIFY_DIR}/bundlecheck.c)
target_include_directories(ft_bundlefmt PUBLIC ${FT_VERIFY_DIR} ${CMAKE_SOURCE_DIR}/common)
target_link_libraries(ft_bundlefmt PUBLIC ft_proto PkgConfig::SODIUM PkgConfig::JANSSON)

set(FT_VERIFY_COMMON error.c keys.c fsutil.c entry.c media.c sha256.c wire.c record.c utf8.c)
list(TRANSFORM FT_VERIFY_COMMON PREPEND ${CMAKE_SOURCE_DIR}/common/)
add_executable(fieldtrail-verify ${FT_VERIFY_DIR}/main.c ${FT_VERIFY_COMMON})
target_link_libraries(fieldtrail-verify PRIVATE ft_bundlefmt m)
set_target_properties(fieldtrail-verify PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/hub)
# The static build links the archives themselves (the pkg-config targets name
# shared objects), and only when all three are installed.
find_library(FT_SODIUM_A libsodium.a)
find_library(FT_PROTOBUFC_A libprotobuf-c.a)
find_library(FT_JANSSON_A libjansson.a)
if(NOT FT_SANITIZE AND FT_SODIUM_A AND FT_PROTOBUFC_A AND FT_JANSSON_A)
  add_executable(fieldtrail-verify-static ${FT_VERIFY_DIR}/main.c ${FT_VERIFY_DIR}/bundlefmt.c
    ${FT_VERIFY_DIR}/bundlecheck.c ${FT_VERIFY_COMMON})
  target_include_directories(fieldtrail-verify-static PRIVATE ${FT_VERIFY_DIR}
    ${CMAKE_SOURCE_DIR}/common $<TARGET_PROPERTY:ft_proto,INTERFACE_INCLUDE_DIRECTORIES>
    $<TARGET_PROPERTY:PkgConfig::SODIUM,INTERFACE_INCLUDE_DIRECTORIES>
    $<TARGET_PROPERTY:PkgConfig::JANSSON,INTERFACE_INCLUDE_DIRECTORIES>
    $<TARGET_PROPERTY:PkgConfig::PROTOBUFC,INTERFACE_INCLUDE_DIRECTORIES>)
  add_dependencies(fieldtrail-verify-static ft_proto)
  target_link_libraries(fieldtrail-verify-static PRIVATE $<TARGET_FILE:ft_proto>
    ${FT_PROTOBUFC_A} ${FT_SODIUM_A} ${FT_JANSSON_A} m)
  target_link_options(fieldtrail-verify-static PRIVATE -static)
  set_target_properties(fieldtrail-verify-static PROPERTIES RUNTIME_OUTPUT_DIRECTORY
    ${CMAKE_BINARY_DIR}/hub)
  cmake_language(DEFER CALL add_dependencies fieldtrail-hub fieldtrail-verify-static)
endif()
set(FT_VERIFY_SRC_FILES hub/verifier/main.c hub/verifier/bundlecheck.c hub/verifier/bundlecheck.h
  hub/verifier/bundlefmt.c hub/verifier/bundlefmt.h hub/verifier/BUILD.txt proto/entry.proto
  proto/wire.proto common/error.c common/error.h common/keys.c common/keys.h common/fsutil.c
  common/fsutil.h common/entry.c common/entry.h common/media.c common/media.h common/sha256.c
  common/sha256.h common/wire.c
  common/wire.h common/record.c common/record.h common/utf8.c common/utf8.h docs/retention.md)
set(FT_VERIFY_TGZ ${CMAKE_BINARY_DIR}/hub/fieldtrail-verify-src.tar.gz)
list(TRANSFORM FT_VERIFY_SRC_FILES PREPEND ${CMAKE_SOURCE_DIR}/ OUTPUT_VARIABLE FT_VERIFY_SRC_DEPS)
add_custom_command(OUTPUT ${FT_VERIFY_TGZ}
  COMMAND ${CMAKE_COMMAND} -E tar czf ${FT_VERIFY_TGZ} ${FT_VERIFY_SRC_FILES}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  DEPENDS ${FT_VERIFY_SRC_DEPS}
  COMMENT "packing the verifier's source for archive discs")
add_custom_target(fieldtrail-verify-src ALL DEPENDS ${FT_VERIFY_TGZ})

add_library(ft_retention STATIC ${CMAKE_CURRENT_SOURCE_DIR}/retention.c
  ${CMAKE_CURRENT_SOURCE_DIR}/bundle.c)
target_include_directories(ft_retention PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_retention PUBLIC ft_engine ft_hubmedia ft_bundlefmt ft_common)
# fieldtrail-hub is defined in sync.cmake, read after this file.
cmake_language(DEFER CALL target_sources fieldtrail-hub PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/cmd_retention.c)
cmake_language(DEFER CALL target_link_libraries fieldtrail-hub PRIVATE ft_retention)
cmake_language(DEFER CALL add_dependencies fieldtrail-hub fieldtrail-verify)

ft_add_test(bundlefmt_test SOURCES ${FT_VERIFY_DIR}/bundlefmt_test.c
  ${CMAKE_SOURCE_DIR}/common/testutil.c LIBS ft_bundlefmt ft_common)
ft_add_test(retention_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/retention_test.c
  ${CMAKE_CURRENT_SOURCE_DIR}/state.c ${CMAKE_SOURCE_DIR}/common/testutil.c
  LIBS ft_retention ft_hubsync TIMEOUT 300)
ft_add_test(bundlecheck_test SOURCES ${FT_VERIFY_DIR}/bundlecheck_test.c
  ${CMAKE_SOURCE_DIR}/common/testutil.c LIBS ft_bundlefmt ft_common)
