# bench/coverage.cmake: ft-bench-coverage, the compliance report's media
# coverage over a year of a large office: the index (hub/views/coverage.c) against
# the plain scan of every clip it replaced, on a sample.
add_executable(ft-bench-coverage ${CMAKE_CURRENT_SOURCE_DIR}/coverage_bench.c)
target_link_libraries(ft-bench-coverage PRIVATE ft_views)
