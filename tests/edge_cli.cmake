# tests/edge_cli.cmake: integration tests of the real fieldtrail-edge binary
# (tests/edge_cli/*.sh; shared helpers in tests/edge_cli/lib.sh), and
# ft_tamper, the tool they use to damage a stored log entry.

add_executable(ft_tamper ${CMAKE_CURRENT_SOURCE_DIR}/edge_cli/ft_tamper.c)
target_link_libraries(ft_tamper PRIVATE PkgConfig::LMDB)
# The scripts find it at $FT_BUILD/tests/edge_cli/ft_tamper.
set_target_properties(ft_tamper PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/edge_cli)

ft_add_script_test(edge_cli_init_creates_keys_and_refuses_reinit edge_cli/init.sh TIMEOUT 120)
ft_add_script_test(edge_cli_import_sample_then_reimport_is_noop edge_cli/import_sample.sh
  TIMEOUT 120)
ft_add_script_test(edge_cli_import_keeps_good_lines_names_bad edge_cli/import_bad_lines.sh
  TIMEOUT 120)
ft_add_script_test(edge_cli_import_same_id_other_content_is_conflict
  edge_cli/import_conflict.sh TIMEOUT 120)
ft_add_script_test(edge_cli_record_from_flags_and_refusals edge_cli/record.sh TIMEOUT 120)
# About 90 process starts of the edge: 10 s in the normal tree, 89 s of its
# old 120 under ASan in CI, where more load would have timed it out.
ft_add_script_test(edge_cli_verify_names_flipped_and_deleted_seq edge_cli/verify_tamper.sh
  TIMEOUT 360)
ft_add_script_test(edge_cli_import_map_full_is_clear_and_resumable edge_cli/map_full.sh
  TIMEOUT 120)
ft_add_script_test(edge_cli_config_errors_named_and_init_advised edge_cli/config_errors.sh
  TIMEOUT 120)
ft_add_script_test(edge_cli_help_on_every_command edge_cli/help.sh TIMEOUT 120)
