# tests/lint.cmake: checks on the test and ops scripts themselves, and on the
# source tree's structure.
ft_add_script_test(lint_scripts_no_early_exit_readers_in_pipelines lint/pipes.sh TIMEOUT 60
  LABELS lint)
# The libraries' boundaries: forbidden includes per folder, no cycle
# (tests/lint/boundaries.sh; it first checks itself on planted violations).
ft_add_script_test(lint_boundaries_forbidden_includes_and_cycles lint/boundaries.sh TIMEOUT 120
  LABELS lint)
# verifier/BUILD.txt names exactly the verifier's sources (FT_VERIFY_SOURCES).
ft_add_script_test(lint_verifier_build_txt_matches_sources lint/verifier_build.sh TIMEOUT 60
  LABELS lint)
