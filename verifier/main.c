/* main.c: fieldtrail-verify BUNDLE: checks a case bundle or an archive
 * (a disc image's extracted or mounted tree) without a hub and without a
 * network, and prints a plain verdict (bundlecheck.h).
 *
 * Exit codes: 0 everything verifies, 1 problems found (or the bundle cannot
 * be read), 2 usage error.
 */
#include "bundlecheck.h"
#include "keys.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The progress bar on a terminal (stderr), at most ten times a second:
 * "verify [##########..............]  42%  ETA 0:12" (every file is read to
 * check its hash, media files once more against their manifests). */
typedef struct {
    struct timespec t0, last;
    bool drawn;
} bar_t;

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void bar_draw(bar_t *b, uint64_t done, uint64_t total, bool force)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (b->drawn && !force && since(&b->last, &now) < 0.1) {
        return;
    }
    double f = total ? (double)done / (double)total : 0;
    f = f > 1 ? 1 : f;
    char bar[25];
    for (int i = 0; i < 24; i++) {
        bar[i] = i < (int)(f * 24 + 0.5) ? '#' : '.';
    }
    bar[24] = '\0';
    double secs = since(&b->t0, &now);
    char eta[32] = "";
    if (done > 0 && done < total && secs > 0.5) {
        long left = (long)(secs * (double)(total - done) / (double)done);
        snprintf(eta, sizeof eta, "  ETA %ld:%02ld", left / 60, left % 60);
    }
    fprintf(stderr, "\rverify [%s] %3d%%%s\033[K", bar, (int)(f * 100), eta);
    fflush(stderr);
    b->drawn = true;
    b->last = now;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    bar_draw(ctx, done, total, false);
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: fieldtrail-verify [--json] [--hub-key HEX] [--secret-key FILE [--extract DIR]]\n"
        "                         BUNDLE\n\n"
        "Checks a fieldtrail case bundle (a directory or a .tar file made by\n"
        "`fieldtrail-hub export`) or an archive (the extracted or mounted disc image made\n"
        "by `fieldtrail-hub archive`): the hub's signature over the bundle's file list,\n"
        "every file's hash, every device signature and hash-chain link of the device\n"
        "logs, the hub's receipts, every media file against its signed manifest (content\n"
        "hash, chunk hashes, Merkle root), and that no record of the case was left out.\n"
        "Needs no hub and no network.\n\n"
        "  --hub-key HEX     the hub signing key (64 hex digits) you trust; without it the\n"
        "                    key in the bundle is used and printed for you to compare\n"
        "  --secret-key FILE a recipient's X25519 secret key (64 hex digits in the file)\n"
        "                    for media sealed to that recipient: checks their content too\n"
        "  --extract DIR     with --secret-key: writes each sealed media file that verifies,\n"
        "                    decrypted, into DIR\n"
        "  --json            the report as one JSON object\n\n"
        "exit codes: 0 verified, 1 problems found, 2 usage error\n");
}

static int read_secret(const char *path, bcheck_opts_t *o)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return FT_ENOTFOUND;
    }
    char buf[256] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = buf;
    while (*p == ' ' || *p == '\n') {
        p++;
    }
    char *eq = strchr(p, '=');
    if (eq) {
        p = eq + 1;
        while (*p == ' ') {
            p++;
        }
    }
    p[strcspn(p, " \r\n")] = '\0';
    int err = hex_decode(p, o->recipient_sk, 32);
    sodium_memzero(buf, sizeof buf);
    if (err != FT_OK) {
        return FT_EINVAL;
    }
    crypto_scalarmult_base(o->recipient_pk, o->recipient_sk);
    o->has_secret = true;
    return FT_OK;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"hub-key", required_argument, NULL, 'k'},
        {"secret-key", required_argument, NULL, 's'},
        {"extract", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bcheck_opts_t o;
    memset(&o, 0, sizeof o);
    bool json = false;
    int opt;
    if (sodium_init() < 0) {
        fprintf(stderr, "fieldtrail-verify: libsodium cannot start\n");
        return 1;
    }
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j':
            json = true;
            break;
        case 'k':
            if (strlen(optarg) != 64 || hex_decode(optarg, o.hub_pk, 32) != FT_OK) {
                fprintf(stderr, "fieldtrail-verify: --hub-key wants 64 hex digits\n");
                return 2;
            }
            o.pin_hub = true;
            break;
        case 's':
            if (read_secret(optarg, &o) != FT_OK) {
                fprintf(stderr,
                        "fieldtrail-verify: %s does not hold a 64-hex-digit X25519 secret key\n",
                        optarg);
                return 2;
            }
            break;
        case 'x':
            o.extract_dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc || (o.extract_dir && !o.has_secret)) {
        usage(stderr);
        return 2;
    }
    json_t *report = NULL;
    bar_t bar = {.drawn = false};
    clock_gettime(CLOCK_MONOTONIC, &bar.t0);
    if (isatty(STDERR_FILENO) == 1) {
        o.progress = on_progress;
        o.progress_ctx = &bar;
    }
    int err = bcheck_path(argv[optind], &o, &report);
    if (bar.drawn) {
        fputc('\n', stderr);
    }
    sodium_memzero(o.recipient_sk, sizeof o.recipient_sk);
    if (err != FT_OK) {
        if (json) {
            printf("{\"ok\":false,\"error\":\"cannot read %s: %s\"}\n", argv[optind],
                   ft_strerror(err));
        } else {
            fprintf(stderr, "fieldtrail-verify: cannot read %s: %s\n", argv[optind],
                    ft_strerror(err));
        }
        return 1;
    }
    bool ok = json_is_true(json_object_get(report, "ok"));
    if (json) {
        json_dumpf(report, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else {
        bcheck_print(report, stdout);
    }
    json_decref(report);
    return ok ? 0 : 1;
}
