# tests/web.cmake: the web dashboard against a real hub on 127.0.0.1: the
# JSON API with curl (tests/web/api.sh) and the pages in headless Chromium
# with playwright-core (tests/web/browser.sh, skipped visibly with exit 77
# when Chromium or npm cannot be had), a dashboard justification as the
# gap engine and `fieldtrail-hub alerts` see it (tests/web/justify_cli.sh),
# failed-login lockouts (tests/web/login_limit.sh), the sync page judging
# clocks and recorders by the office's own rule pack
# (tests/web/office_pack.sh), and ft_hubalert, which
# raises an alert in a hub's log the way the gap engine does.

add_executable(ft_hubalert ${CMAKE_CURRENT_SOURCE_DIR}/web/ft_hubalert.c)
target_link_libraries(ft_hubalert PRIVATE ft_lmdb)
set_target_properties(ft_hubalert PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/web)

ft_add_script_test(web_api_every_endpoint_with_login_roles_csrf_and_live_events web/api.sh
  TIMEOUT 300 LABELS web)
ft_add_script_test(web_browser_pages_login_sync_alert_timeline_justify_audit web/browser.sh
  TIMEOUT 600 LABELS web)
set_tests_properties(web_browser_pages_login_sync_alert_timeline_justify_audit PROPERTIES
  SKIP_RETURN_CODE 77)
ft_add_script_test(web_justification_from_dashboard_in_cli_alerts_after_restart web/justify_cli.sh
  TIMEOUT 300 LABELS web)
ft_add_script_test(web_login_rate_limit_429_retry_after_backoff_and_reset web/login_limit.sh
  TIMEOUT 300 LABELS web)
ft_add_script_test(web_sync_page_flags_by_the_office_rule_pack web/office_pack.sh
  TIMEOUT 300 LABELS web)
ft_add_script_test(web_metrics_pass_promtool_check_metrics web/metrics_promtool.sh
  TIMEOUT 300 LABELS web)
set_tests_properties(web_metrics_pass_promtool_check_metrics PROPERTIES SKIP_RETURN_CODE 77)
ft_add_script_test(web_supervisor_alerts_sync_uploads_and_narrow_screens_in_chromium
  web/supervisor.sh TIMEOUT 900 LABELS web)
set_tests_properties(web_supervisor_alerts_sync_uploads_and_narrow_screens_in_chromium PROPERTIES
  SKIP_RETURN_CODE 77)
