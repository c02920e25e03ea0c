# Log sync at the hub: the store (a library the gap engine links), the
# verification of incoming entries, the ZAP handler, the ROUTER loop and the
# fieldtrail-hub binary with its commands.
add_library(ft_hubstore STATIC store.c)
target_include_directories(ft_hubstore PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_hubstore PUBLIC ft_common)

add_library(ft_hubsync STATIC verify.c zap.c sync.c)
target_link_libraries(ft_hubsync PUBLIC ft_hubstore)

add_executable(fieldtrail-hub main.c state.c cmd_init.c cmd_enroll.c cmd_devices.c
  cmd_verify.c cmd_run.c)
target_link_libraries(fieldtrail-hub PRIVATE ft_hubsync)

ft_add_test(store_test SOURCES store_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c
  LIBS ft_hubstore)
ft_add_test(verify_test SOURCES verify_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c
  LIBS ft_hubsync)
ft_add_test(zap_test SOURCES zap_test.c ${CMAKE_SOURCE_DIR}/common/testutil.c LIBS ft_hubsync)
