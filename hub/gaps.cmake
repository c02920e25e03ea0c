# The gap engine: rule pack parsing (rules.c) and rule evaluation (gaps.c).
# The default pack (rulepack/default.rules) is compiled into the hub so that
# an installed hub needs no file to start; an office may point to its own.
set(FT_PACK_SRC ${CMAKE_CURRENT_SOURCE_DIR}/rulepack/default.rules)
set(FT_PACK_C ${CMAKE_CURRENT_BINARY_DIR}/rulepack_default.c)
add_custom_command(OUTPUT ${FT_PACK_C}
  COMMAND ${CMAKE_COMMAND} -DIN=${FT_PACK_SRC} -DOUT=${FT_PACK_C}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/rulepack/embed.cmake
  DEPENDS ${FT_PACK_SRC} ${CMAKE_CURRENT_SOURCE_DIR}/rulepack/embed.cmake
  COMMENT "embedding the default rule pack")
add_library(ft_gaps STATIC rules.c gaps.c ${FT_PACK_C})
target_include_directories(ft_gaps PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_gaps PUBLIC ft_common m)
ft_add_test(rules_test SOURCES rules_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c LIBS ft_gaps)
ft_add_test(gaps_test SOURCES gaps_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c LIBS ft_gaps)

# The case index, alert state and evaluation (index.c, alerts.c, engine.c),
# and alert delivery (delivery.c: ZeroMQ PUB and webhooks via libcurl).
# Wired into fieldtrail-hub by timeline.cmake (after sync.cmake defines it).
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
find_package(Threads REQUIRED)
add_library(ft_engine STATIC index.c alerts.c engine.c)
target_include_directories(ft_engine PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_engine PUBLIC ft_gaps ft_hubstore)
# The evaluation thread's pass timings, read by /metrics (ft_hubweb).
add_library(ft_evalstats STATIC evalstats.c)
target_include_directories(ft_evalstats PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_evalstats PUBLIC Threads::Threads)
add_library(ft_delivery STATIC delivery.c)
target_include_directories(ft_delivery PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_delivery PUBLIC ft_common PkgConfig::CURL Threads::Threads)
ft_add_test(engine_test SOURCES engine_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c
  LIBS ft_engine TIMEOUT 300)
ft_add_test(delivery_test SOURCES delivery_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c
  LIBS ft_delivery)
