# tests/faults.cmake: fault tests (tests/faults/*.sh, helpers in
# tests/faults/lib.sh): network faults between edges and the hub in network
# namespaces of the tests' own (loss, bursts, partitions with nftables, rate
# limits with tbf, delay, jitter and resets with ft_proxy), process faults
# (kill -9, full disks, clock skew), daemons under valgrind. Every test ends
# with the convergence checker (tests/tools/ft_converge). A test that lacks
# a privilege or kernel feature exits 77: CTest shows it as skipped, with the
# reason in its output.
add_executable(ft_proxy ${CMAKE_CURRENT_SOURCE_DIR}/faults/ft_proxy.c)
target_link_libraries(ft_proxy PRIVATE m)
set_target_properties(ft_proxy PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/faults)

# ft_add_fault_test(NAME SCRIPT TIMEOUT): a fault script, label "faults",
# exit 77 = skipped.
function(ft_add_fault_test name script timeout)
  ft_add_script_test(${name} ${script} TIMEOUT ${timeout} LABELS faults)
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
endfunction()

ft_add_fault_test(faults_converge_checker_passes_then_names_missing_and_damaged
  faults/checker.sh 240)
ft_add_fault_test(faults_net_loss_bursts_partitions_then_converge faults/net_loss_partitions.sh 420)
ft_add_fault_test(faults_net_delay_jitter_resets_1mbit_then_converge faults/net_delay_resets.sh 420)
ft_add_fault_test(faults_net_slow_link_records_and_alerts_before_media faults/net_slow_link.sh 600)
ft_add_fault_test(faults_disk_full_edge_stops_cleanly_then_resumes faults/disk_full_edge.sh 300)
# 148 s of 300 under ASan in CI; its own bounded waits add up to far more.
ft_add_fault_test(faults_disk_full_hub_acks_only_stored_then_resumes faults/disk_full_hub.sh 600)
ft_add_fault_test(faults_clock_skew_plus_minus_one_day_measured_alerted_converge faults/clock_skew.sh 300)
ft_add_fault_test(faults_soak_kill9_hub_and_edges_60s_then_converge faults/soak.sh 480)
ft_add_fault_test(faults_valgrind_hub_and_edge_sync_and_shut_down_clean faults/valgrind.sh 600)
ft_add_fault_test(faults_scale_100_simulated_edges_converge faults/scale.sh 600)
