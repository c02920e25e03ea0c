# tests/lint.cmake: checks on the test and ops scripts themselves.
ft_add_script_test(lint_scripts_no_early_exit_readers_in_pipelines lint/pipes.sh TIMEOUT 60
  LABELS lint)
