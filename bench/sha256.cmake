# bench/sha256.cmake: ft-bench-sha256, MB/s of ft_sha256 (sha-ni and portable)
# against libsodium's crypto_hash_sha256 and crypto_generichash (BLAKE2b-256)
# over 1 MiB buffers, about 0.5 s per row.
add_executable(ft-bench-sha256 ${CMAKE_CURRENT_SOURCE_DIR}/bench_sha256.c)
target_link_libraries(ft-bench-sha256 PRIVATE ft_core)
