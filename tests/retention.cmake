# tests/retention.cmake: retention, legal holds, case bundles, the verifier and
# disc-image archives with real fieldtrail-edge and fieldtrail-hub processes
# (tests/retention/*.sh, helpers in tests/retention/lib.sh).
ft_add_script_test(retention_daily_after_two_years_evidence_and_holds_kept_refusals
  retention/retention.sh TIMEOUT 600 LABELS retention)
ft_add_script_test(retention_bundle_verifies_and_tampering_is_named retention/bundle.sh
  TIMEOUT 600 LABELS retention)
ft_add_script_test(retention_iso_archive_extracts_and_verifies retention/archive.sh TIMEOUT 600
  LABELS retention)
ft_add_script_test(retention_cli_for_staff_local_times_sorted_alerts_progress_and_true_sizes
  retention/cli_for_staff.sh TIMEOUT 600 LABELS retention)
