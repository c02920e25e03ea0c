# bench/media.cmake: `make bench-media` runs ops/bench-media.sh against this
# build tree: fieldtrail edge->hub sync of one 1 GiB file vs rsync over ssh
# to localhost vs Syncthing (two instances on loopback).
add_custom_target(bench-media
  COMMAND env FT_BUILD=${CMAKE_BINARY_DIR} bash ${CMAKE_SOURCE_DIR}/ops/bench-media.sh
  USES_TERMINAL)
