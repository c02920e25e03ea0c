# tests/tools.cmake: tools the reliability tests share. ft_converge is the
# convergence checker every fault, soak and scale test ends with
# (tests/tools/ft_converge.c); the scripts find it at $FT_BUILD/tests/tools/.
add_executable(ft_converge ${CMAKE_CURRENT_SOURCE_DIR}/tools/ft_converge.c
  ${CMAKE_SOURCE_DIR}/hub/media/blobstore.c)
target_include_directories(ft_converge PRIVATE ${CMAKE_SOURCE_DIR}/hub/media)
target_link_libraries(ft_converge PRIVATE ft_hubstore)
set_target_properties(ft_converge PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/tools)
