# Media at the hub: the blob store, the chunk puller (a thread of `run`) and
# `fieldtrail-hub media list|get`. Added to fieldtrail-hub (defined in
# sync.cmake) once every part file has been read.
find_package(Threads REQUIRED)
add_library(ft_hubmedia STATIC ${CMAKE_CURRENT_SOURCE_DIR}/mediapull.c
  ${CMAKE_CURRENT_SOURCE_DIR}/mediacheck.c
  ${CMAKE_CURRENT_SOURCE_DIR}/blobstore.c ${CMAKE_CURRENT_SOURCE_DIR}/cmd_media.c)
target_include_directories(ft_hubmedia PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ft_hubmedia PUBLIC ft_hubsync_media_deps)
add_library(ft_hubsync_media_deps INTERFACE)
cmake_language(DEFER CALL target_link_libraries ft_hubsync_media_deps INTERFACE ft_hubsync
  Threads::Threads)
cmake_language(DEFER CALL target_link_libraries fieldtrail-hub PRIVATE ft_hubmedia)
# The streaming content check's worker (mediacheck.c) on its own.
ft_add_test(mediacheck_test SOURCES mediacheck_test.c LIBS ft_hubmedia)
