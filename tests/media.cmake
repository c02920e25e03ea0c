# tests/media.cmake: integration tests of media ingest and transfer with real
# fieldtrail-edge and fieldtrail-hub processes (tests/media/*.sh, helpers in
# tests/media/lib.sh). FT_MEDIA_BIG_MB shrinks the 1 GiB file (ASan: 128).
ft_add_script_test(media_1gib_and_100_photos_arrive_identical media/big_and_photos.sh
  TIMEOUT 600 LABELS media)
