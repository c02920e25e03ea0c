# tests/province.cmake: the provincial tier: county hubs forwarding into a
# throw-away PostgreSQL 15 each test starts (tests/province/lib.sh; skipped
# with 77, saying why, only when PostgreSQL 15 is not installed).
ft_add_script_test(province_schema_idempotent_append_only province/schema.sh TIMEOUT 120 LABELS province)
set_tests_properties(province_schema_idempotent_append_only PROPERTIES SKIP_RETURN_CODE 77)

foreach(scenario two_edges kill9 pg_restart bad_config bad_key restore two_counties)
  ft_add_script_test(province_forward_${scenario} province/forward.sh TIMEOUT 300 LABELS province)
  set_property(TEST province_forward_${scenario} APPEND PROPERTY ENVIRONMENT FT_PROV_SCENARIO=${scenario})
  set_tests_properties(province_forward_${scenario} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
