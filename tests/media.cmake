# tests/media.cmake: integration tests of media ingest and transfer with real
# fieldtrail-edge and fieldtrail-hub processes (tests/media/*.sh, helpers in
# tests/media/lib.sh). FT_MEDIA_BIG_MB shrinks the 1 GiB file (ASan: 128).
ft_add_script_test(media_1gib_and_100_photos_arrive_identical media/big_and_photos.sh
  TIMEOUT 600 LABELS media)

add_executable(ft_mtool ${CMAKE_CURRENT_SOURCE_DIR}/media/ft_mtool.c)
target_link_libraries(ft_mtool PRIVATE PkgConfig::LMDB)
set_target_properties(ft_mtool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/media)
# The data-path tests' tools: ft_flipproxy (a TCP relay that alters one byte;
# tests/faults has its own ft_proxy) and ft_dforge (forged messages to the
# hub's data path, packed with the project's codec).
add_executable(ft_flipproxy ${CMAKE_CURRENT_SOURCE_DIR}/media/ft_flipproxy.c)
add_executable(ft_dforge ${CMAKE_CURRENT_SOURCE_DIR}/media/ft_dforge.c)
target_link_libraries(ft_dforge PRIVATE ft_core PkgConfig::ZMQ)
set_target_properties(ft_flipproxy ft_dforge PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/media)

ft_add_script_test(media_tampered_chunk_refused_integrity_event_rest_arrives media/tamper.sh
  TIMEOUT 300 LABELS media)
ft_add_script_test(media_edge_keeps_no_key_and_no_plaintext media/no_plaintext.sh
  TIMEOUT 300 LABELS media)
ft_add_script_test(media_abandoned_ingest_swept_and_logged media/abandoned_ingest.sh
  TIMEOUT 300 LABELS media)
ft_add_script_test(media_storage_full_pauses_then_resumes_after_pruning media/storage_full.sh
  TIMEOUT 300 LABELS media)
ft_add_script_test(media_link_cut_10_times_resends_at_most_10_chunks media/kill_transfer.sh
  TIMEOUT 900 LABELS media)

# The chunk data path (media.data_listen): used by default, a copy altered on
# the way asked again on the secure link (no integrity event), an unreachable
# or switched-off data path leaves chunks on the secure link, and forged
# messages on it are dropped (tests/media/data_path.sh SCENARIO).
foreach(scenario carries_chunks altered_in_transit_asked_again_no_integrity_event
    unreachable_falls_back_to_secure_link off_uses_secure_link forged_messages_dropped)
  ft_add_script_test(media_data_path_${scenario} media/data_path.sh TIMEOUT 180 LABELS media)
  set_property(TEST media_data_path_${scenario} APPEND PROPERTY ENVIRONMENT
    FT_MEDIA_SCENARIO=${scenario})
endforeach()
ft_add_script_test(media_ingest_killed_twice_resumes_stored_once_duplicate_refused
  media/ingest_resume.sh TIMEOUT 300 LABELS media)

# The inbox (edge/inbox.h): what it refuses, when a file is complete, and
# that a file that cannot be ingested is reported once.
ft_add_script_test(media_inbox_refuses_links_fifos_hard_links_once_nothing_outside_touched
  media/inbox_refusals.sh TIMEOUT 300 LABELS media)
# ft_slowread: a preload library that slows the reads of one file, so that
# the edge can be killed in the middle of an ingest.
add_library(ft_slowread SHARED ${CMAKE_CURRENT_SOURCE_DIR}/media/ft_slowread.c)
target_link_libraries(ft_slowread PRIVATE dl)
set_target_properties(ft_slowread PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/media)
foreach(scenario held_fd reopen kill_during_copy kill_during_ingest)
  # About 40 s in the normal tree (the file settles for 30 s); the ASan tree
  # on loaded cores takes several times that.
  ft_add_script_test(media_inbox_slow_copy_with_stall_whole_file_${scenario}
    media/inbox_slow_writer.sh TIMEOUT 900 LABELS media)
  set_property(TEST media_inbox_slow_copy_with_stall_whole_file_${scenario} APPEND PROPERTY
    ENVIRONMENT FT_MEDIA_SCENARIO=${scenario})
endforeach()
foreach(scenario sidecar_halves failure_once)
  ft_add_script_test(media_inbox_${scenario} media/inbox_sidecar_and_failures.sh TIMEOUT 600
    LABELS media)
  set_property(TEST media_inbox_${scenario} APPEND PROPERTY ENVIRONMENT
    FT_MEDIA_SCENARIO=${scenario})
endforeach()

# Text that is not valid UTF-8 (tests/media/text_utf8.sh): ft_oldclip stores a
# clip in an edge as edges that cut a sidecar's text mid-character did (its
# chunks, a manifest with the bytes given, the file row); the hub lists it,
# escaped, in every view. The positive case: a sidecar with a 300-byte
# Chinese cause on a real edge, in every view with the whole cause.
add_executable(ft_oldclip ${CMAKE_CURRENT_SOURCE_DIR}/media/ft_oldclip.c
  ${CMAKE_SOURCE_DIR}/edge/mstore.c)
target_include_directories(ft_oldclip PRIVATE ${CMAKE_SOURCE_DIR}/edge)
target_link_libraries(ft_oldclip PRIVATE ft_lmdb)
set_target_properties(ft_oldclip PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/media)
foreach(scenario cut_text_shown_escaped chinese_cause_whole)
  ft_add_script_test(media_text_${scenario} media/text_utf8.sh TIMEOUT 180 LABELS media)
  set_property(TEST media_text_${scenario} APPEND PROPERTY ENVIRONMENT
    FT_MEDIA_SCENARIO=${scenario})
endforeach()

# A file whose key the hub's archive key does not open (the edge was given
# another hub's): held back, no integrity event, said in `status`; completed
# once the hub's key file is right (tests/media/key_not_opened.sh).
ft_add_script_test(media_key_not_opened_held_back_not_tampering media/key_not_opened.sh
  TIMEOUT 300 LABELS media)
# A published blob that changed on the hub's disk before its receipt was
# stored: pulling pauses and says which chunk, no integrity event; fixed, the
# file completes (tests/media/local_fault.sh; ft_mtool setstate).
ft_add_script_test(media_local_fault_pauses_not_tampering media/local_fault.sh
  TIMEOUT 300 LABELS media)

# Rows of version 1 (tests/media/rows_of_version_1.sh): ft_rowtool rewrites a
# state directory's file rows, hub and edge, as the raw structs of version 1
# (its own frozen copies); the hub resumes a partial file from them, lists
# and plans retention over every file, and the edge serves and acknowledges.
add_executable(ft_rowtool ${CMAKE_CURRENT_SOURCE_DIR}/media/ft_rowtool.c
  ${CMAKE_SOURCE_DIR}/edge/mstore.c)
target_include_directories(ft_rowtool PRIVATE ${CMAKE_SOURCE_DIR}/edge)
target_link_libraries(ft_rowtool PRIVATE ft_mediadb ft_lmdb)
set_target_properties(ft_rowtool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/media)
ft_add_script_test(media_rows_of_version_1_resume_list_retention_serve media/rows_of_version_1.sh
  TIMEOUT 300 LABELS media)
