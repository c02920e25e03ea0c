/* cmd_ingest.c: `fieldtrail-edge ingest`: manual media import, or one pass
 * over the inbox. */
#include "edge.h"
#include "logging.h"
#include "msync.h"
#include "inbox.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void ingest_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-edge ingest FILE... --recorder NO [--remove]\n"
                 "       fieldtrail-edge ingest --inbox [DIR]\n"
                 "         [--archive-key HEX] [--state DIR] [--config FILE] [--json]\n\n"
                 "Stores media files as encrypted chunks in the edge's database and writes a\n"
                 "signed manifest for each to the device log; the hub pulls the chunks later.\n"
                 "An interrupted ingest resumes where it stopped; content already ingested is\n"
                 "not stored twice. With --inbox, ingests every complete file in\n"
                 "DIR/<recorder>/ (default: config `inbox`, else STATE/inbox) and removes it\n"
                 "once stored. A progress bar is shown on a terminal.\n\n"
                 "  --recorder NO      the recorder (body cam, camera) the files come from\n"
                 "  --remove           remove each FILE (and its .json sidecar) once stored\n"
                 "  --archive-key HEX  the hub's archive public key (config `archive_key`;\n"
                 "                     `archive_public` in the hub's hub.pub)\n"
                 "exit codes: 0 all stored, 1 a file failed or storage is full, 2 usage\n");
}

/* Progress bar state for a terminal. */
typedef struct {
    bool tty;
    struct timespec start;
} bar_t;

static void bar_show(void *ctx, const char *name, uint64_t done, uint64_t total)
{
    bar_t *b = ctx;
    if (!b->tty) {
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs = (double)(now.tv_sec - b->start.tv_sec) + (now.tv_nsec - b->start.tv_nsec) / 1e9;
    double rate = secs > 0 ? (double)done / secs : 0;
    int pct = total ? (int)(done * 100 / total) : 100;
    int fill = pct * 30 / 100;
    char bar[31];
    for (int i = 0; i < 30; i++) {
        bar[i] = i < fill ? '#' : '.';
    }
    bar[30] = '\0';
    double eta = rate > 0 && total > done ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r%-24.24s [%s] %3d%% %7.1f MiB/s ETA %4.0fs", name, bar, pct,
            rate / 1048576.0, eta);
    if (done >= total) {
        fputc('\n', stderr);
    }
    fflush(stderr);
}

int edge_cmd_ingest(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    const char *recorder = NULL, *archive = NULL, *inbox = NULL;
    bool remove_src = false, use_inbox = false;
    const cli_opt_t opts[] = {
        CLI_VALUE("recorder", &recorder),
        CLI_FLAG("remove", &remove_src),
        CLI_FLAG("inbox", &use_inbox),
        CLI_VALUE("archive-key", &archive),
        CLI_END,
    };
    int rc = edge_parse(&ctx, argc, argv, opts, ingest_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    int n_files = argc - optind;
    if (use_inbox) {
        if (n_files > 1) {
            ingest_usage(stderr);
            return 2;
        }
        inbox = n_files == 1 ? argv[optind] : NULL;
    } else if (n_files == 0 || !recorder || !recorder[0]) {
        edge_fail("name the files and the recorder they come from: ingest FILE... --recorder NO "
                  "(or ingest --inbox)");
        return 2;
    }
    if (edge_open(&ctx) != 0) {
        edge_close(&ctx);
        return 1;
    }
    int status = 1;
    mstore_t *m = NULL;
    ingest_t *in = NULL;
    edge_media_settings_t ms;
    rc = edge_media_settings(&ctx, archive, &ms);
    if (rc != 0) {
        status = rc;
        goto out;
    }
    if (!ms.has_archive) {
        edge_fail("no archive key: set `archive_key = HEX` in %s/edge.conf (the "
                  "`archive_public` line of the hub's hub.pub) or pass --archive-key; file keys "
                  "are sealed to it",
                  ctx.state);
        status = 2;
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ms.ingest.stop = &stop_flag;
    /* LMDB allocates each chunk's pages (a little over a chunk) per put and
     * frees them at commit: kept in the heap, they are not faulted in anew
     * for every batch. */
    cli_tune_malloc_for_chunks();
    int err = mstore_open(ctx.log, &m);
    if (err == FT_OK) {
        err = ingest_new(m, &ms.ingest, &in);
    }
    if (err != FT_OK) {
        edge_fail("cannot open the media store: %s", ft_strerror(err));
        goto out;
    }
    bar_t bar = {.tty = isatty(STDERR_FILENO) && !ctx.json};
    clock_gettime(CLOCK_MONOTONIC, &bar.start);
    ingest_set_progress(in, bar_show, &bar);
    if (use_inbox) {
        const char *dir = inbox ? inbox : ms.inbox;
        inbox_t *ib = NULL;
        inbox_stats_t st = {0};
        err = inbox_new(in, dir, &ib);
        if (err == FT_OK) {
            err = inbox_scan(ib, &st);
        }
        inbox_destroy(&ib);
        if (err == FT_EFULL) {
            edge_fail("storage full: ingest paused after %u files; the rest stays in %s until "
                      "the hub confirms files so that they can be pruned (see `status`)",
                      st.stored, dir);
        } else if (err != FT_OK) {
            edge_fail("cannot go through the inbox %s: %s", dir, ft_strerror(err));
        } else if (st.failed || st.refused) {
            edge_fail("%u files in %s could not be ingested and %u paths were refused; they "
                      "stay there (`status` says why)",
                      st.failed, dir, st.refused);
        } else {
            status = 0;
        }
        if (ctx.json) {
            printf("{\"stored\":%u,\"removed\":%u,\"waiting\":%u,\"refused\":%u,"
                   "\"failed\":%u,\"ok\":%s}\n",
                   st.stored, st.removed, st.waiting, st.refused, st.failed,
                   status == 0 ? "true" : "false");
        } else {
            printf("%u files ingested from %s, %u removed from it, %u left for later (not "
                   "complete yet, or settling)\n",
                   st.stored, dir, st.removed, st.waiting);
        }
        goto out;
    }
    status = 0;
    for (int i = optind; i < argc; i++) {
        ingest_result_t res;
        clock_gettime(CLOCK_MONOTONIC, &bar.start);
        err = ingest_file(in, argv[i], recorder, remove_src, &res);
        if (err == FT_EFULL) {
            edge_fail("storage full while ingesting %s: paused; run the same command again once "
                      "the hub has confirmed earlier files (they are then pruned) — it resumes "
                      "where it stopped",
                      argv[i]);
            status = 1;
            break;
        }
        if (err != FT_OK) {
            edge_fail("cannot ingest %s: %s", argv[i], ft_strerror(err));
            status = 1;
            if (err == FT_ETIMEOUT) {
                break;
            }
            continue;
        }
        char idhex[33];
        hex_encode(res.file_id, MEDIA_FILE_ID_BYTES, idhex);
        const char *what = res.outcome == INGEST_DUPLICATE ? "duplicate" : "stored";
        if (ctx.json) {
            printf("{\"file\":\"%s\",\"result\":\"%s\",\"file_id\":\"%s\",\"size\":%llu,"
                   "\"seq\":%llu,\"resumed\":%s}\n",
                   argv[i], what, idhex, (unsigned long long)res.size,
                   (unsigned long long)res.manifest_seq, res.resumed ? "true" : "false");
        } else {
            printf("%s: %s as %s (%llu bytes)%s\n", argv[i], what, idhex,
                   (unsigned long long)res.size, res.resumed ? ", resumed" : "");
        }
    }
out:
    ingest_destroy(&in);
    mstore_destroy(&m);
    edge_close(&ctx);
    return status;
}
