# The gap engine's commands in fieldtrail-hub (evaluate, alerts, timeline,
# rules) and its evaluation thread in `run`. fieldtrail-hub is defined in
# sync.cmake, which is included before this file (hub/CMakeLists.txt globs
# the parts in name order).
target_sources(fieldtrail-hub PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cmd_alerts.c
  ${CMAKE_CURRENT_SOURCE_DIR}/cmd_timeline.c ${CMAKE_CURRENT_SOURCE_DIR}/evaluator.c)
target_link_libraries(fieldtrail-hub PRIVATE ft_engine ft_delivery ft_evalstats)
