# The web dashboard: HTTP server (libmicrohttpd), JSON API, live events,
# users and sessions, and the static pages of hub/web/ compiled into the hub.
# Linked into fieldtrail-hub (defined in sync.cmake, included before this file);
# playback reads the media blob store (ft_hubmedia, media.cmake).
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
find_package(Threads REQUIRED)

file(GLOB FT_WEB_FILES ${CMAKE_CURRENT_SOURCE_DIR}/web/*.html ${CMAKE_CURRENT_SOURCE_DIR}/web/*.css
  ${CMAKE_CURRENT_SOURCE_DIR}/web/*.js ${CMAKE_CURRENT_SOURCE_DIR}/web/*.svg)
set(FT_WEB_C ${CMAKE_CURRENT_BINARY_DIR}/webassets.c)
add_custom_command(OUTPUT ${FT_WEB_C}
  COMMAND ${CMAKE_COMMAND} -DDIR=${CMAKE_CURRENT_SOURCE_DIR}/web -DOUT=${FT_WEB_C}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/web/embed.cmake
  DEPENDS ${FT_WEB_FILES} ${CMAKE_CURRENT_SOURCE_DIR}/web/embed.cmake
  COMMENT "embedding the dashboard pages")

add_library(ft_hubusers STATIC users.c)
target_include_directories(ft_hubusers PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_hubusers PUBLIC ft_common)

# Failed-login counting and lockouts (fixed memory; unit-tested alone).
add_library(ft_loginlimit STATIC loginlimit.c)
target_include_directories(ft_loginlimit PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_loginlimit PUBLIC ft_common Threads::Threads)

# The request text the server parses itself (no libmicrohttpd): unit-tested in
# httpparse_test and fuzzed by tests/fuzz/fuzz_http.c.
add_library(ft_httpparse STATIC httpparse.c)
target_include_directories(ft_httpparse PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_httpparse PUBLIC ft_common)

add_library(ft_hubweb STATIC http.c webevents.c catalog.c coverage.c api_auth.c api_sync.c api_alerts.c
  api_cases.c api_reports.c api_audit.c ${FT_WEB_C})
target_include_directories(ft_hubweb PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_hubweb PUBLIC ft_httpparse ft_hubusers ft_loginlimit ft_evalstats ft_hubstore ft_hubmedia PkgConfig::MHD Threads::Threads m)

target_sources(fieldtrail-hub PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cmd_user.c)
target_link_libraries(fieldtrail-hub PRIVATE ft_hubweb)

ft_add_test(users_test SOURCES users_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c
  LIBS ft_hubusers)
ft_add_test(loginlimit_test SOURCES loginlimit_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c
  LIBS ft_loginlimit)
ft_add_test(webevents_test SOURCES webevents_test.c LIBS ft_hubweb)
ft_add_test(catalog_test SOURCES catalog_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c
  LIBS ft_hubweb)
ft_add_test(httpparse_test SOURCES httpparse_test.c LIBS ft_httpparse)
ft_add_test(coverage_test SOURCES coverage_test.c LIBS ft_hubweb)
