/* bench_sha256.c: ft-bench-sha256, hashing throughput in MB/s (10^6 bytes
 * per second) over a 1 MiB buffer, each row for about --seconds (0.5):
 *   ft_sha256 (sha-ni)        the SHA extension code, if this CPU has them
 *   ft_sha256 (portable)      the portable C code
 *   crypto_hash_sha256        libsodium's SHA-256
 *   crypto_generichash        libsodium's BLAKE2b, 32-byte output
 * ft_sha256 picks its code once per process, so the portable row is
 * measured by a child (this program run again with FT_SHA256_PORTABLE=1 and
 * --portable-row, which prints that row only).
 */
#include "sha256.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Bytes hashed per call. */
#define BENCH_BUF ((size_t)1 << 20)

/* What one row hashes with: (out, in, len). */
typedef void (*hash_fn)(uint8_t *out, const uint8_t *in, size_t len);

static void run_ft(uint8_t *out, const uint8_t *in, size_t len)
{
    ft_sha256(in, len, out);
}

static void run_sodium_sha256(uint8_t *out, const uint8_t *in, size_t len)
{
    crypto_hash_sha256(out, in, len);
}

static void run_blake2b(uint8_t *out, const uint8_t *in, size_t len)
{
    crypto_generichash(out, 32, in, len, NULL, 0);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hashes buf repeatedly for about `seconds` and prints one row. */
static void row(const char *label, hash_fn fn, const uint8_t *buf, double seconds)
{
    uint8_t out[32];
    volatile uint8_t sink = 0;
    fn(out, buf, BENCH_BUF); /* warm-up: caches, page faults, dispatch */
    double start = now(), t;
    size_t calls = 0;
    do {
        fn(out, buf, BENCH_BUF);
        sink ^= out[0];
        calls++;
        t = now() - start;
    } while (t < seconds);
    (void)sink;
    printf("  %-34s %9.1f MB/s\n", label, (double)calls * (double)BENCH_BUF / 1e6 / t);
    fflush(stdout);
}

/* Runs this program again with FT_SHA256_PORTABLE=1 for the portable row. */
static int portable_row_in_child(const char *seconds)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        setenv("FT_SHA256_PORTABLE", "1", 1);
        execl("/proc/self/exe", "ft-bench-sha256", "--portable-row", "--seconds", seconds,
              (char *)NULL);
        perror("exec /proc/self/exe");
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "ft-bench-sha256: the portable row failed\n");
        return -1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ft-bench-sha256 [--seconds S]   (time per row, default 0.5)\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"seconds", required_argument, NULL, 's'},
                                         {"portable-row", no_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *seconds_arg = "0.5";
    int portable_only = 0;
    int c;
    while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        if (c == 's') {
            seconds_arg = optarg;
        } else if (c == 'p') {
            portable_only = 1;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    char *end;
    double seconds = strtod(seconds_arg, &end);
    if (*end != '\0' || !(seconds > 0)) {
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "ft-bench-sha256: sodium_init failed\n");
        return 1;
    }
    uint8_t *buf = malloc(BENCH_BUF);
    if (!buf) {
        fprintf(stderr, "ft-bench-sha256: out of memory\n");
        return 1;
    }
    randombytes_buf(buf, BENCH_BUF);

    int rc = 0;
    if (portable_only) {
        row("ft_sha256 (portable)", run_ft, buf, seconds);
    } else {
        printf("ft-bench-sha256: 1 MiB buffers, %.2f s per row, MB/s = 10^6 bytes/s\n", seconds);
        if (strcmp(ft_sha256_impl(), "sha-ni") == 0) {
            row("ft_sha256 (sha-ni)", run_ft, buf, seconds);
        } else {
            printf("  %-34s not used (no SHA extensions, or FT_SHA256_PORTABLE set)\n",
                   "ft_sha256 (sha-ni)");
        }
        fflush(stdout);
        if (portable_row_in_child(seconds_arg) != 0) {
            rc = 1;
        }
        row("crypto_hash_sha256 (libsodium)", run_sodium_sha256, buf, seconds);
        row("crypto_generichash (BLAKE2b-256)", run_blake2b, buf, seconds);
    }
    free(buf);
    return rc;
}
