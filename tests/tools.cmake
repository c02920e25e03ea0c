# tests/tools.cmake: tools the reliability tests share. ft_converge is the
# convergence checker every fault, soak and scale test ends with
# (tests/tools/ft_converge.c); ft_dump lists what a hub's store and its own
# log hold, entry by entry (the province and security tests compare and count
# with it). The scripts find them at $FT_BUILD/tests/tools/.
add_executable(ft_converge ${CMAKE_CURRENT_SOURCE_DIR}/tools/ft_converge.c)
target_link_libraries(ft_converge PRIVATE ft_hubstore ft_blobstore)
set_target_properties(ft_converge PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/tools)
add_executable(ft_dump ${CMAKE_CURRENT_SOURCE_DIR}/tools/ft_dump.c)
target_link_libraries(ft_dump PRIVATE ft_hubstore ft_lmdb ft_core)
set_target_properties(ft_dump PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/tools)
