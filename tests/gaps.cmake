# tests/gaps.cmake: the gap-engine scenario suite: real edges and a real hub
# (tests/gaps/*.sh, helpers in tests/gaps/lib.sh), comparing the alert set
# exactly with expected files (tests/gaps/expected/*). Tools: ft_media (a
# media manifest appended to an edge's log), ft_hookd (a local HTTP receiver
# for webhooks; slow or a black hole on request), ft_sub (a PUB subscriber).
foreach(tool ft_media ft_hookd ft_sub)
  add_executable(${tool} ${CMAKE_CURRENT_SOURCE_DIR}/gaps/${tool}.c)
  set_target_properties(${tool} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/gaps)
endforeach()
target_link_libraries(ft_media PRIVATE ft_lmdb)
target_link_libraries(ft_sub PRIVATE PkgConfig::ZMQ)

ft_add_script_test(gaps_record_rules_raise_and_stay_quiet gaps/record_rules.sh TIMEOUT 300
  LABELS gaps)
ft_add_script_test(gaps_coverage_media_readiness_and_unlinked gaps/coverage.sh TIMEOUT 300
  LABELS gaps)
ft_add_script_test(gaps_multi_device_clock_offset_corrected gaps/clock_offset.sh TIMEOUT 300
  LABELS gaps)
ft_add_script_test(gaps_integrity_events_are_critical_alerts gaps/integrity.sh TIMEOUT 300
  LABELS gaps)
ft_add_script_test(gaps_resolved_justified_history_pub_and_webhooks gaps/lifecycle.sh
  TIMEOUT 300 LABELS gaps)
ft_add_script_test(gaps_webhooks_outbox_restart_crash_black_hole_age gaps/webhook_outbox.sh
  TIMEOUT 400 LABELS gaps)
ft_add_script_test(gaps_webhook_batch_of_many_events_across_kill_9 gaps/webhook_batch.sh
  TIMEOUT 300 LABELS gaps)
ft_add_script_test(gaps_rule_pack_checked_and_malformed_refused gaps/rules_cli.sh TIMEOUT 120
  LABELS gaps)
ft_add_script_test(gaps_media_format_1_manifest_named_not_pulled gaps/media_format.sh TIMEOUT 120
  LABELS gaps)
ft_add_script_test(gaps_one_record_one_identity_across_devices_conflicts_integrity
  gaps/identity.sh TIMEOUT 600 LABELS gaps)
ft_add_script_test(gaps_routing_bots_pace_digests gaps/routing.sh TIMEOUT 900 LABELS gaps)
