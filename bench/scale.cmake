# bench/scale.cmake: ft-bench-scale, the simulated-edge driver (many DEALER
# connections, each with its own keys and signed log) that
# ops/bench-scale.sh runs against one hub.
add_executable(ft-bench-scale ${CMAKE_CURRENT_SOURCE_DIR}/scale.c)
target_link_libraries(ft-bench-scale PRIVATE ft_hubstore PkgConfig::ZMQ)
