/* inbox_test.c: the inbox (inbox.h) on real files in a scratch folder:
 * links, FIFOs and hard links refused once each and left alone; a file
 * taken on the stable-time guess stays until it settled, a declared one
 * leaves at once; nothing is taken while a writer holds the file; a file
 * that grew after its ingest is ingested again and supersedes the first; a
 * half-written sidecar holds its clip back; a failing file is reported once
 * and backs off. */
#include "inbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "entry.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char dir[512];
    char state[600];
    char root[600];
    keys_t keys;
    devlog_t *log;
    mstore_t *m;
    ingest_t *in;
    inbox_t *ib;
    ingest_opts_t o;
} fx_t;

static void fx_open(fx_t *fx)
{
    devlog_opts_t lo = {.map_size = (size_t)512 << 20};
    assert_int_equal(devlog_open(fx->state, &fx->keys, &lo, &fx->log), FT_OK);
    assert_int_equal(mstore_open(fx->log, &fx->m), FT_OK);
    assert_int_equal(ingest_new(fx->m, &fx->o, &fx->in), FT_OK);
    assert_int_equal(inbox_new(fx->in, fx->root, &fx->ib), FT_OK);
}

static void fx_close(fx_t *fx)
{
    inbox_destroy(&fx->ib);
    inbox_destroy(&fx->ib); /* safe twice */
    ingest_destroy(&fx->in);
    mstore_destroy(&fx->m);
    devlog_destroy(&fx->log);
}

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "inbox");
    snprintf(fx->state, sizeof fx->state, "%s/db", fx->dir);
    snprintf(fx->root, sizeof fx->root, "%s/inbox", fx->dir);
    assert_int_equal(mkdir(fx->state, 0700), 0);
    assert_int_equal(mkdir(fx->root, 0700), 0);
    assert_int_equal(keys_generate(&fx->keys, false), FT_OK);
    uint8_t sk[32];
    crypto_box_keypair(fx->o.archive_pk, sk);
    fx->o.chunk_size = MEDIA_CHUNK_MIN;
    fx->o.stable_ms = 1000;
    fx->o.settle_ms = 5000;
    fx_open(fx);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    fx_close(fx);
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

/* root/rel */
static const char *at(fx_t *fx, const char *rel)
{
    static char buf[4][1200];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", fx->root, rel);
    return b;
}

/* Sets the mtime of root/rel age_ms in the past. */
static void age(fx_t *fx, const char *rel, int64_t age_ms)
{
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    int64_t ns = (int64_t)ts[0].tv_sec * 1000000000LL + ts[0].tv_nsec - age_ms * 1000000LL;
    ts[0].tv_sec = ts[1].tv_sec = ns / 1000000000LL;
    ts[0].tv_nsec = ts[1].tv_nsec = ns % 1000000000LL;
    assert_int_equal(utimensat(AT_FDCWD, at(fx, rel), ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* Writes n bytes (seeded) to root/rel, with its mtime age_ms in the past. */
static void put_file(fx_t *fx, const char *rel, size_t n, unsigned seed, int64_t age_ms)
{
    FILE *f = fopen(at(fx, rel), "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        fputc((int)((i * 31 + seed * 7 + (i >> 9)) & 0xFF), f);
    }
    assert_int_equal(fclose(f), 0);
    age(fx, rel, age_ms);
}

static bool exists(fx_t *fx, const char *rel)
{
    struct stat st;
    return lstat(at(fx, rel), &st) == 0;
}

/* Counts of the log's bodies. */
typedef struct {
    unsigned manifests, refused, failed, superseding;
    char last_detail[600];
} counts_t;

static int count_one(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    (void)seq;
    counts_t *c = ctx;
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return 0;
    }
    const Ft__Body *b = v.entry->body;
    if (b->kind_case == FT__BODY__KIND_MEDIA) {
        c->manifests++;
        c->superseding += b->media->has_supersedes;
    } else if (b->kind_case == FT__BODY__KIND_EVENT) {
        if (b->event->kind == FT__DEVICE_EVENT_KIND__INGEST_REFUSED) {
            c->refused++;
        } else if (b->event->kind == FT__DEVICE_EVENT_KIND__INGEST_FAILED) {
            c->failed++;
        }
        snprintf(c->last_detail, sizeof c->last_detail, "%s",
                 b->event->detail ? b->event->detail : "");
    }
    entry_view_free(&v);
    return 0;
}

static counts_t counts(fx_t *fx)
{
    counts_t c;
    memset(&c, 0, sizeof c);
    assert_int_equal(devlog_iter(fx->log, 1, 0, count_one, &c), 0);
    return c;
}

static inbox_stats_t scan(fx_t *fx)
{
    inbox_stats_t st;
    assert_int_equal(inbox_scan(fx->ib, &st), FT_OK);
    return st;
}

static void links_fifos_and_hard_links_are_refused_once_and_left_alone(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(mkdir(at(fx, "BC-1"), 0700), 0);
    char outside[700];
    snprintf(outside, sizeof outside, "%s/secret.mp4", fx->dir);
    FILE *f = fopen(outside, "w");
    assert_non_null(f);
    fputs("not for the inbox", f);
    fclose(f);
    assert_int_equal(symlink(outside, at(fx, "BC-1/link.mp4")), 0);
    assert_int_equal(symlink(fx->dir, at(fx, "BC-2")), 0);
    assert_int_equal(mkfifo(at(fx, "BC-1/fifo.mp4"), 0600), 0);
    assert_int_equal(link(outside, at(fx, "BC-1/hard.mp4")), 0);
    put_file(fx, "loose.mp4", 1000, 1, 10000);
    for (int i = 0; i < 3; i++) {
        inbox_stats_t st = scan(fx);
        assert_int_equal(st.refused, i == 0 ? 5 : 0);
        assert_int_equal(st.stored, 0);
    }
    /* Across a restart too: the refusals are kept in the store. */
    fx_close(fx);
    fx_open(fx);
    assert_int_equal(scan(fx).refused, 0);
    counts_t c = counts(fx);
    assert_int_equal(c.refused, 5);
    assert_int_equal(c.manifests, 0);
    assert_true(exists(fx, "BC-1/link.mp4") && exists(fx, "BC-2") && exists(fx, "BC-1/fifo.mp4") &&
                exists(fx, "BC-1/hard.mp4") && exists(fx, "loose.mp4"));
    assert_int_equal(access(outside, F_OK), 0);
    json_t *p = inbox_problems_json(fx->m);
    assert_int_equal(json_array_size(p), 5);
    json_decref(p);
    /* A refused path that goes away leaves the list at the next pass. */
    assert_int_equal(unlink(at(fx, "BC-1/fifo.mp4")), 0);
    scan(fx);
    p = inbox_problems_json(fx->m);
    assert_int_equal(json_array_size(p), 4);
    json_decref(p);
}

static void a_guessed_file_settles_and_a_declared_one_leaves_at_once(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(mkdir(at(fx, "BC-1"), 0700), 0);
    assert_int_equal(mkdir(at(fx, "BC-1/DCIM"), 0700), 0);
    put_file(fx, "BC-1/DCIM/new.mp4", 200000, 1, 0);       /* just written */
    put_file(fx, "BC-1/DCIM/stable.mp4", 200000, 2, 2000); /* stable, not settled */
    put_file(fx, "BC-1/marked.mp4", 200000, 3, 0);         /* declared by a marker */
    put_file(fx, "BC-1/marked.mp4.done", 0, 0, 0);
    inbox_stats_t st = scan(fx);
    assert_int_equal(st.stored, 2);
    assert_int_equal(st.removed, 1);
    assert_false(exists(fx, "BC-1/marked.mp4") || exists(fx, "BC-1/marked.mp4.done"));
    assert_true(exists(fx, "BC-1/DCIM/new.mp4") && exists(fx, "BC-1/DCIM/stable.mp4"));
    /* Settled: unchanged for settle_ms. */
    age(fx, "BC-1/DCIM/stable.mp4", 6000);
    st = scan(fx);
    assert_int_equal(st.stored, 0);
    assert_int_equal(st.removed, 1);
    assert_false(exists(fx, "BC-1/DCIM/stable.mp4"));
    age(fx, "BC-1/DCIM/new.mp4", 6000);
    st = scan(fx);
    assert_int_equal(st.stored, 1);
    assert_int_equal(st.removed, 1);
    assert_int_equal(counts(fx).manifests, 3);
}

static void nothing_is_taken_while_a_writer_holds_the_file(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(mkdir(at(fx, "BC-1"), 0700), 0);
    put_file(fx, "BC-1/open.mp4", 100000, 1, 10000);
    put_file(fx, "BC-1/open.mp4.done", 0, 0, 0);
    int wfd = open(at(fx, "BC-1/open.mp4"), O_WRONLY | O_APPEND);
    assert_true(wfd >= 0);
    int probe = open(at(fx, "BC-1/open.mp4"), O_RDONLY);
    ingest_writer w = ingest_writer_probe(probe);
    close(probe);
    if (w == INGEST_WRITER_UNKNOWN) {
        close(wfd);
        skip(); /* leases not allowed here (another owner, a network file system) */
    }
    assert_int_equal(w, INGEST_WRITER_OPEN);
    inbox_stats_t st = scan(fx);
    assert_int_equal(st.stored, 0);
    assert_int_equal(st.waiting, 1);
    assert_true(exists(fx, "BC-1/open.mp4"));
    assert_int_equal(close(wfd), 0);
    st = scan(fx);
    assert_int_equal(st.stored, 1);
    assert_int_equal(st.removed, 1);
}

static void a_file_that_grew_after_its_ingest_supersedes_the_first(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(mkdir(at(fx, "BC-1"), 0700), 0);
    put_file(fx, "BC-1/grow.mp4", 300000, 1, 2000);
    assert_int_equal(scan(fx).stored, 1);
    assert_true(exists(fx, "BC-1/grow.mp4")); /* taken on a guess: it settles first */
    /* The writer goes on after its stall. */
    FILE *f = fopen(at(fx, "BC-1/grow.mp4"), "ab");
    assert_non_null(f);
    for (int i = 0; i < 200000; i++) {
        fputc(i & 0x7F, f);
    }
    fclose(f);
    assert_int_equal(scan(fx).stored, 0); /* not stable yet */
    age(fx, "BC-1/grow.mp4", 2000);
    inbox_stats_t st = scan(fx);
    assert_int_equal(st.stored, 1);
    assert_int_equal(st.removed, 0);
    counts_t c = counts(fx);
    assert_int_equal(c.manifests, 2);
    assert_int_equal(c.superseding, 1);
    age(fx, "BC-1/grow.mp4", 6000);
    assert_int_equal(scan(fx).removed, 1);
    assert_false(exists(fx, "BC-1/grow.mp4"));
}

static void a_half_written_sidecar_holds_its_clip_back(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(mkdir(at(fx, "BC-1"), 0700), 0);
    put_file(fx, "BC-1/clip.mp4", 100000, 1, 3000);
    FILE *f = fopen(at(fx, "BC-1/clip.mp4.json"), "w");
    assert_non_null(f);
    fputs("{\"case\":\"C-1\",\"officer\":", f);
    fclose(f);
    inbox_stats_t st = scan(fx);
    assert_int_equal(st.stored, 0);
    assert_int_equal(st.waiting, 1);
    f = fopen(at(fx, "BC-1/clip.mp4.json"), "a");
    assert_non_null(f);
    fputs("\"ZF-1\"}", f);
    fclose(f);
    st = scan(fx);
    assert_int_equal(st.stored, 1);
    assert_int_equal(st.removed, 1); /* a whole sidecar declares the clip complete */
    assert_false(exists(fx, "BC-1/clip.mp4.json"));
    /* One that stays broken past settle_ms is refused, its clip taken. */
    put_file(fx, "BC-1/lone.mp4", 100000, 2, 3000);
    f = fopen(at(fx, "BC-1/lone.mp4.json"), "w");
    fputs("{\"case\":", f);
    fclose(f);
    assert_int_equal(scan(fx).stored, 0);
    age(fx, "BC-1/lone.mp4.json", 6000);
    st = scan(fx);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.stored, 1);
    assert_true(exists(fx, "BC-1/lone.mp4.json"));
    assert_int_equal(counts(fx).refused, 1);
}

static void a_failing_file_is_reported_once_and_backs_off(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(mkdir(at(fx, "BC-1"), 0700), 0);
    /* More than MEDIA_MAX_CHUNKS chunks of 64 KiB, sparse. */
    int fd = open(at(fx, "BC-1/huge.mp4"), O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)MEDIA_MAX_CHUNKS * MEDIA_CHUNK_MIN + 1), 0);
    close(fd);
    age(fx, "BC-1/huge.mp4", 3000);
    inbox_stats_t st = scan(fx);
    assert_int_equal(st.failed, 1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(scan(fx).failed, 0);
    }
    counts_t c = counts(fx);
    assert_int_equal(c.failed, 1);
    assert_non_null(strstr(c.last_detail, "too large"));
    json_t *p = inbox_problems_json(fx->m);
    assert_int_equal(json_array_size(p), 1);
    json_t *row = json_array_get(p, 0);
    assert_string_equal(json_string_value(json_object_get(row, "kind")), "failed");
    assert_int_equal(json_integer_value(json_object_get(row, "tries")), 1);
    json_decref(p);
    /* Another size is another file: one more event. */
    fd = open(at(fx, "BC-1/huge.mp4"), O_WRONLY);
    assert_int_equal(ftruncate(fd, (off_t)MEDIA_MAX_CHUNKS * MEDIA_CHUNK_MIN + 2), 0);
    close(fd);
    age(fx, "BC-1/huge.mp4", 3000);
    assert_int_equal(scan(fx).failed, 1);
    assert_int_equal(counts(fx).failed, 2);
    assert_true(exists(fx, "BC-1/huge.mp4"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(links_fifos_and_hard_links_are_refused_once_and_left_alone,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_guessed_file_settles_and_a_declared_one_leaves_at_once,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(nothing_is_taken_while_a_writer_holds_the_file, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(a_file_that_grew_after_its_ingest_supersedes_the_first,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_half_written_sidecar_holds_its_clip_back, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(a_failing_file_is_reported_once_and_backs_off, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
