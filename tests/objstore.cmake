# tests/objstore.cmake: the blob store on S3-compatible object storage,
# against a real Ceph RGW that each test starts from Debian's packages
# (tests/objstore/rgw.sh; skipped with 77, saying why, only when it cannot
# start). ft_s3: the tests' S3 tool on the hub's own client.
add_executable(ft_s3 ${CMAKE_CURRENT_SOURCE_DIR}/objstore/ft_s3.c)
target_link_libraries(ft_s3 PRIVATE ft_objstore)
set_target_properties(ft_s3 PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/objstore)

foreach(scenario lands down_then_back refused)
  ft_add_script_test(objstore_rgw_${scenario} objstore/s3_store.sh TIMEOUT 300 LABELS objstore)
  set_property(TEST objstore_rgw_${scenario} APPEND PROPERTY ENVIRONMENT FT_OBJ_SCENARIO=${scenario})
  set_tests_properties(objstore_rgw_${scenario} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
# Settings checked at start (file, line, reason); no secret in any output.
ft_add_script_test(objstore_config_checked_at_start_secret_never_logged objstore/config.sh
  TIMEOUT 180 LABELS objstore)
