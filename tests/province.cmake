# tests/province.cmake: the provincial tier: county hubs forwarding into a
# throw-away PostgreSQL 15 each test starts (tests/province/lib.sh; skipped
# with 77, saying why, only when PostgreSQL 15 is not installed).
ft_add_script_test(province_schema_idempotent_append_only province/schema.sh TIMEOUT 120 LABELS province)
set_tests_properties(province_schema_idempotent_append_only PROPERTIES SKIP_RETURN_CODE 77)
