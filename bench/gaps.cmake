# bench/gaps.cmake: ft-bench-gaps, the gap engine on a hub loaded with 100 000
# cases / 2 000 000 records: indexing, full re-evaluation, and per-record
# incremental latency. ops/bench-gaps.sh builds it (Release) and runs it.
add_executable(ft-bench-gaps ${CMAKE_CURRENT_SOURCE_DIR}/gaps_bench.c)
target_link_libraries(ft-bench-gaps PRIVATE ft_engine)
