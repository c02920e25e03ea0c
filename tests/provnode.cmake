# tests/provnode.cmake: the provincial node over PostgreSQL (tests/provnode/*.sh,
# on the provincial test library tests/province/lib.sh: a throw-away
# PostgreSQL 15 per test on 127.0.0.1, county hubs forwarding into it with
# their own forwarder). Exit 77 = skipped (PostgreSQL 15 not installed).

function(ft_add_provnode_test name script timeout)
  ft_add_script_test(${name} ${script} TIMEOUT ${timeout} LABELS province)
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
endfunction()

ft_add_provnode_test(provnode_verify_names_entry_altered_in_postgres provnode/verify.sh 300)
ft_add_provnode_test(provnode_engine_province_alerts_equal_counties_two_nodes provnode/engine.sh 400)
ft_add_provnode_test(provnode_clock_offsets_province_alerts_equal_county provnode/clock.sh 300)
ft_add_provnode_test(provnode_kill9_mid_evaluation_restarted_node_finishes provnode/kill9.sh 600)
ft_add_provnode_test(provnode_postgres_down_under_running_node_resumes provnode/pgdown.sh 600)
ft_add_provnode_test(provnode_converge_two_counties_edges_province provnode/converge.sh 400)
ft_add_provnode_test(provnode_dashboard_units_shared_sessions_db_down provnode/dashboard.sh 400)
ft_add_provnode_test(provnode_dashboard_in_chromium_units_blocked_device_narrow_db_down
  provnode/browser.sh 600)
ft_add_provnode_test(provnode_units_caseless_records_unlinked_media_equal_county provnode/units.sh 300)
ft_add_provnode_test(provnode_justify_county_justifications_justified_at_province provnode/justify.sh 300)
ft_add_provnode_test(provnode_integrity_refused_entry_raises_province_alert provnode/integrity.sh 300)
ft_add_provnode_test(provnode_late_clips_and_checkout_mark_what_they_meet_in_time provnode/late.sh 300)
