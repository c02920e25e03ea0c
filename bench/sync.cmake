# bench/sync.cmake: ft-bench-sync-verify, the Ed25519 verify rate and the
# hub's per-entry check rate on this machine. bench/sync_bench.sh runs it
# beside an end-to-end sync (edge -> hub) of generated records.
add_executable(ft-bench-sync-verify ${CMAKE_CURRENT_SOURCE_DIR}/sync_bench.c)
target_link_libraries(ft-bench-sync-verify PRIVATE ft_core)
