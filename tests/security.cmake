# tests/security.cmake: the hub under attack from its own network
# (tests/security/*.sh, helpers in tests/security/lib.sh): idle connections,
# frames announced larger than any message, handshakes with unknown keys, alert
# subscribers without an allowed key, text with newlines and ESC, packet loss,
# slow HTTP connections beside idle ZeroMQ ones, the dashboard's event
# streams and request deadline, a login name that tries to forge a log line.
# Each runs against a live hub on 127.0.0.1 while a real edge syncs, prints
# its figures and asserts the bounds of docs/operations.md "Exposed ports";
# those that attack a port keep a logged-in dashboard user polling (p95 < 2 s).
# ft_attack is the attacker (tests/security/ft_attack.c).
add_executable(ft_attack ${CMAKE_CURRENT_SOURCE_DIR}/security/ft_attack.c)
target_link_libraries(ft_attack PRIVATE ft_core PkgConfig::ZMQ)
set_target_properties(ft_attack PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/security)

ft_add_script_test(security_idle_connections_sync_and_pub_ports security/idle_connections.sh
  TIMEOUT 240 LABELS security)
ft_add_script_test(security_slow_http_beside_idle_zmq_dashboard_still_answers security/slow_http.sh
  TIMEOUT 240 LABELS security)
ft_add_script_test(security_big_frames_refused_before_allocation security/big_frames.sh
  TIMEOUT 240 LABELS security)
ft_add_script_test(security_unknown_key_handshakes_cost_little security/unknown_keys.sh
  TIMEOUT 300 LABELS security)
ft_add_script_test(security_pub_subscribers_need_an_allowed_key security/pub_allowlist.sh
  TIMEOUT 180 LABELS security)
ft_add_script_test(security_newline_and_esc_escaped_in_log_and_cli security/text_escape.sh
  TIMEOUT 180 LABELS security)
ft_add_script_test(security_http_deadline_streams_range_and_paths security/http_limits.sh
  TIMEOUT 240 LABELS security)
ft_add_script_test(security_http_out_of_descriptors_mhd_lines_bounded security/http_no_descriptors.sh
  TIMEOUT 180 LABELS security)
ft_add_script_test(security_login_name_escaped_in_log_cli_and_audit security/login_escape.sh
  TIMEOUT 240 LABELS security)
ft_add_script_test(security_loss_5pct_60s_hub_keeps_its_pid security/loss.sh
  TIMEOUT 300 LABELS security faults)
set_tests_properties(security_loss_5pct_60s_hub_keeps_its_pid PROPERTIES SKIP_RETURN_CODE 77)

# The media port (CurveZMQ) and the chunk data path: idle connections and
# frames announced larger than a chunk on both, and chunks forged with a
# token read off the data path (ft_attack forge).
ft_add_script_test(security_idle_connections_media_and_data_ports security/media_idle_connections.sh
  TIMEOUT 300 LABELS security media)
ft_add_script_test(security_big_frames_media_and_data_ports security/media_big_frames.sh
  TIMEOUT 240 LABELS security media)
ft_add_script_test(security_forged_chunks_sniffed_token_dropped_before_hashing
  security/media_forged_chunks.sh TIMEOUT 240 LABELS security media)
ft_add_script_test(security_media_ports_bind_the_listen_host security/media_bind_host.sh
  TIMEOUT 120 LABELS security media)
set_tests_properties(security_media_ports_bind_the_listen_host PROPERTIES SKIP_RETURN_CODE 77)
