# bench/log.cmake: ft-bench-log, signed entries appended per second to a device
# log (single and batched) against this machine's Ed25519 sign rate, and the
# verify rate. ops/bench-log.sh builds it (Release) and runs it.
add_executable(ft-bench-log ${CMAKE_CURRENT_SOURCE_DIR}/log_bench.c)
target_link_libraries(ft-bench-log PRIVATE ft_lmdb)
