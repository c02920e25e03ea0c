# tests/sync.cmake: integration tests of log sync with real fieldtrail-hub and
# fieldtrail-edge processes on 127.0.0.1 (tests/sync/*.sh, helpers in
# tests/sync/lib.sh), and ft_forge, the tool that sends crafted batches.

add_executable(ft_forge ${CMAKE_CURRENT_SOURCE_DIR}/sync/ft_forge.c)
target_link_libraries(ft_forge PRIVATE ft_lmdb PkgConfig::ZMQ)
# The scripts find it at $FT_BUILD/tests/sync/ft_forge.
set_target_properties(ft_forge PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/sync)

ft_add_script_test(sync_one_edge_syncs_with_receipts_and_status sync/basic.sh TIMEOUT 180
  LABELS sync)
ft_add_script_test(sync_three_edges_offline_then_hub_starts_all_arrive_once
  sync/offline_three.sh TIMEOUT 300 LABELS sync)
ft_add_script_test(sync_hub_killed_9_twenty_times_nothing_lost_or_doubled sync/kill_hub.sh
  TIMEOUT 600 LABELS sync)
ft_add_script_test(sync_edge_killed_9_twenty_times_nothing_lost_or_doubled sync/kill_edge.sh
  TIMEOUT 600 LABELS sync)
ft_add_script_test(sync_refusals_unknown_revoked_forged_flipped_replayed_gap
  sync/refusals.sh TIMEOUT 240 LABELS sync)
# What a stolen unit reveals: receipted records older than records.keep_days
# (clock moved with libfaketime) are pruned; no name is left in any file.
ft_add_script_test(sync_pruned_records_leave_no_names_and_still_verify sync/prune_records.sh
  TIMEOUT 240 LABELS sync)
# Fair share: a batch committed over two groups, a receipt for each part;
# kill -9 of the hub between the parts loses nothing and doubles nothing.
ft_add_script_test(sync_partial_batch_receipts_and_kill9_between_groups
  sync/partial_receipts.sh TIMEOUT 300 LABELS sync)
# Fair share: a new edge's Hello is answered, and its records stored, while
# another edge has a backlog of hundreds of groups.
ft_add_script_test(sync_welcome_answered_beside_a_large_backlog sync/welcome_backlog.sh
  TIMEOUT 240 LABELS sync)
