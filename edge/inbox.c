/* inbox.c: which inbox files are taken, when, and when they leave (see
 * inbox.h). */
#include "inbox.h"
#include "fsutil.h"
#include "hlc.h"
#include "lmdbx.h"
#include "logging.h"
#include "utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* A closed file this long unchanged is taken without waiting for
 * media.stable_ms: the kernel said its writer closed it. */
#define INBOX_CLOSED_QUIET_MS 200
/* Hints (inotify events by path) kept at most; past that they are dropped
 * and the stable-time rule decides. */
#define INBOX_MAX_HINTS 4096
#define INBOX_PATH_MAX 4096

typedef enum { HINT_CLOSED = 1, HINT_MOVED = 2 } hint_kind;

/* What inotify said of a path since it was last taken. */
typedef struct {
    char *rel; /* path below the root */
    hint_kind kind;
    int64_t at_ms;
} hint_t;

/* A watched folder. */
typedef struct {
    int wd;
    char *rel; /* "" for the root */
} watch_t;

struct inbox_t {
    ingest_t *in; /* borrowed */
    mstore_t *m;  /* borrowed from in */
    char root[INBOX_PATH_MAX];
    int ifd; /* inotify, -1 without */
    watch_t *watches;
    size_t n_watches, cap_watches;
    hint_t *hints;
    size_t n_hints, cap_hints;
};

/* State of one pass. */
typedef struct {
    inbox_t *ib;
    int64_t now;      /* wall ms at the start of the pass */
    inbox_stats_t st; /* counts */
    int stop_err;     /* FT_EFULL / FT_ETIMEOUT: end the pass */
} pass_t;

int inbox_new(ingest_t *in, const char *root, inbox_t **out)
{
    *out = NULL;
    inbox_t *ib = calloc(1, sizeof *ib);
    if (!ib) {
        return FT_ENOMEM;
    }
    ib->in = in;
    ib->m = ingest_mstore(in);
    ib->ifd = -1;
    snprintf(ib->root, sizeof ib->root, "%s", root);
    size_t n = strlen(ib->root);
    while (n > 1 && ib->root[n - 1] == '/') {
        ib->root[--n] = '\0';
    }
    *out = ib;
    return FT_OK;
}

static void hints_clear(inbox_t *ib)
{
    for (size_t i = 0; i < ib->n_hints; i++) {
        free(ib->hints[i].rel);
    }
    ib->n_hints = 0;
}

void inbox_destroy(inbox_t **ib_p)
{
    inbox_t *ib = *ib_p;
    if (!ib) {
        return;
    }
    if (ib->ifd >= 0) {
        close(ib->ifd);
    }
    for (size_t i = 0; i < ib->n_watches; i++) {
        free(ib->watches[i].rel);
    }
    free(ib->watches);
    hints_clear(ib);
    free(ib->hints);
    free(ib);
    *ib_p = NULL;
}

static int64_t mtime_ms(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* rel/name, or name when rel is "". */
static bool rel_join(char *buf, size_t n, const char *rel, const char *name)
{
    int w = rel[0] ? snprintf(buf, n, "%s/%s", rel, name) : snprintf(buf, n, "%s", name);
    return w >= 0 && (size_t)w < n;
}

/* ---- hints ---------------------------------------------------------------- */

static hint_t *hint_find(inbox_t *ib, const char *rel)
{
    for (size_t i = 0; i < ib->n_hints; i++) {
        if (strcmp(ib->hints[i].rel, rel) == 0) {
            return &ib->hints[i];
        }
    }
    return NULL;
}

static void hint_note(inbox_t *ib, const char *rel, hint_kind kind)
{
    hint_t *h = hint_find(ib, rel);
    if (h) {
        /* A rename into place says more than a later close. */
        if (kind == HINT_MOVED || h->kind != HINT_MOVED) {
            h->kind = kind;
        }
        h->at_ms = (int64_t)hlc_wall_ms();
        return;
    }
    if (ib->n_hints >= INBOX_MAX_HINTS) {
        hints_clear(ib);
    }
    if (ib->n_hints == ib->cap_hints) {
        size_t cap = ib->cap_hints ? 2 * ib->cap_hints : 32;
        hint_t *g = realloc(ib->hints, cap * sizeof *g);
        if (!g) {
            return;
        }
        ib->hints = g;
        ib->cap_hints = cap;
    }
    char *copy = strdup(rel);
    if (!copy) {
        return;
    }
    ib->hints[ib->n_hints++] = (hint_t){copy, kind, (int64_t)hlc_wall_ms()};
}

static void hint_drop(inbox_t *ib, const char *rel)
{
    hint_t *h = hint_find(ib, rel);
    if (h) {
        free(h->rel);
        *h = ib->hints[--ib->n_hints];
    }
}

/* ---- inotify -------------------------------------------------------------- */

static watch_t *watch_by_wd(inbox_t *ib, int wd)
{
    for (size_t i = 0; i < ib->n_watches; i++) {
        if (ib->watches[i].wd == wd) {
            return &ib->watches[i];
        }
    }
    return NULL;
}

/* Watches the folder open on dfd (rel below the root). Through the
 * descriptor's /proc link, so the folder watched is the one opened. */
static void watch_dir(inbox_t *ib, int dfd, const char *rel)
{
    if (ib->ifd < 0) {
        return;
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", dfd);
    uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB | IN_ONLYDIR;
    int wd = inotify_add_watch(ib->ifd, proc, mask);
    if (wd < 0) {
        return;
    }
    watch_t *w = watch_by_wd(ib, wd);
    if (w) {
        if (strcmp(w->rel, rel) != 0) {
            char *copy = strdup(rel);
            if (copy) {
                free(w->rel);
                w->rel = copy;
            }
        }
        return;
    }
    if (ib->n_watches == ib->cap_watches) {
        size_t cap = ib->cap_watches ? 2 * ib->cap_watches : 16;
        watch_t *g = realloc(ib->watches, cap * sizeof *g);
        if (!g) {
            return;
        }
        ib->watches = g;
        ib->cap_watches = cap;
    }
    char *copy = strdup(rel);
    if (copy) {
        ib->watches[ib->n_watches++] = (watch_t){wd, copy};
    }
}

/* Reads the pending inotify events into hints; true if there were any. */
static bool read_events(inbox_t *ib)
{
    bool any = false;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(ib->ifd, buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        any = true;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            watch_t *w = watch_by_wd(ib, ev->wd);
            if (ev->mask & IN_IGNORED) {
                if (w) {
                    free(w->rel);
                    *w = ib->watches[--ib->n_watches];
                }
                continue;
            }
            if (!w || !ev->len || (ev->mask & IN_ISDIR)) {
                continue;
            }
            char rel[INBOX_PATH_MAX];
            if (!rel_join(rel, sizeof rel, w->rel, ev->name)) {
                continue;
            }
            if (ev->mask & IN_MOVED_TO) {
                hint_note(ib, rel, HINT_MOVED);
            } else if (ev->mask & IN_CLOSE_WRITE) {
                hint_note(ib, rel, HINT_CLOSED);
            }
        }
    }
    return any;
}

/* ---- refused and failed paths ------------------------------------------------ */

/* path as the messages name it: below the inbox ("BC-1/DCIM/x.mp4"). */
static const char *shown(const inbox_t *ib, const char *path)
{
    size_t n = strlen(ib->root);
    return strncmp(path, ib->root, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

/* Writes the inbox row and, when say is set, its signed event, in one
 * transaction: the event is logged once however often the pass sees it. */
static int put_problem(inbox_t *ib, const mstore_inbox_t *r, bool say)
{
    devlog_txn_t *t = NULL;
    int err = devlog_begin(mstore_log(ib->m), &t);
    if (err != FT_OK) {
        return err;
    }
    if (say) {
        char detail[1400];
        if (r->kind == MINBOX_REFUSED) {
            snprintf(detail, sizeof detail, "inbox/%s %s; it is never read or removed",
                     shown(ib, r->path), r->reason);
        } else {
            snprintf(detail, sizeof detail,
                     "inbox/%s (%llu bytes) cannot be ingested: %s; it stays in the inbox and is "
                     "tried again from time to time",
                     shown(ib, r->path), (unsigned long long)r->size, r->reason);
        }
        Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
        ev.kind = r->kind == MINBOX_REFUSED ? FT__DEVICE_EVENT_KIND__INGEST_REFUSED
                                            : FT__DEVICE_EVENT_KIND__INGEST_FAILED;
        ev.recorder = (char *)(r->recorder[0] ? r->recorder : NULL);
        ev.detail = detail;
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_EVENT;
        body.event = &ev;
        err = devlog_append(t, &body, NULL);
    }
    if (err == FT_OK) {
        err = mstore_inbox_put(ib->m, devlog_txn_mdb(t), r);
    }
    if (err == FT_OK) {
        err = devlog_commit(&t);
    }
    devlog_abort(&t);
    return err;
}

static int get_problem(inbox_t *ib, const struct stat *st, const char *path, mstore_inbox_t *out)
{
    MDB_txn *txn = NULL;
    int err = lmdbx_err(mdb_txn_begin(mstore_env(ib->m), NULL, MDB_RDONLY, &txn));
    if (err == FT_OK) {
        err = mstore_inbox_get(ib->m, txn, (uint64_t)st->st_dev, (uint64_t)st->st_ino, path, out);
        mdb_txn_abort(txn);
    }
    return err;
}

/* Refuses path once: a log line and an ingest_refused event the first time. */
static void refuse(pass_t *ps, const char *path, const struct stat *st, const char *recorder,
                   const char *reason)
{
    inbox_t *ib = ps->ib;
    mstore_inbox_t r;
    if (get_problem(ib, st, path, &r) == FT_OK && r.kind == MINBOX_REFUSED) {
        return;
    }
    memset(&r, 0, sizeof r);
    r.kind = MINBOX_REFUSED;
    r.dev = (uint64_t)st->st_dev;
    r.ino = (uint64_t)st->st_ino;
    r.size = (uint64_t)st->st_size;
    r.mtime_ns = mtime_ns(st);
    r.first_ms = r.last_ms = ps->now;
    snprintf(r.recorder, sizeof r.recorder, "%s", recorder ? recorder : "");
    snprintf(r.reason, sizeof r.reason, "%s", reason);
    snprintf(r.path, sizeof r.path, "%s", path);
    log_warn("inbox: %s %s; it is never read or removed (refused once)", path, reason);
    int err = put_problem(ib, &r, true);
    if (err != FT_OK) {
        log_error("cannot record the refusal of %s: %s", path, ft_strerror(err));
    }
    ps->st.refused++;
}

/* True while a failed file waits for its next attempt. */
static bool failing_wait(pass_t *ps, const char *path, const struct stat *st)
{
    mstore_inbox_t r;
    return get_problem(ps->ib, st, path, &r) == FT_OK && r.kind == MINBOX_FAILED &&
           r.size == (uint64_t)st->st_size && r.mtime_ns == mtime_ns(st) && ps->now < r.next_ms;
}

/* Counts a failed attempt: the event only the first time for this
 * (path, inode, size, mtime); the next attempt backs off. */
static void fail_file(pass_t *ps, const char *path, const struct stat *st, const char *recorder,
                      const char *reason)
{
    inbox_t *ib = ps->ib;
    mstore_inbox_t r;
    bool known = get_problem(ib, st, path, &r) == FT_OK && r.kind == MINBOX_FAILED &&
                 r.size == (uint64_t)st->st_size && r.mtime_ns == mtime_ns(st);
    if (!known) {
        memset(&r, 0, sizeof r);
        r.kind = MINBOX_FAILED;
        r.dev = (uint64_t)st->st_dev;
        r.ino = (uint64_t)st->st_ino;
        r.size = (uint64_t)st->st_size;
        r.mtime_ns = mtime_ns(st);
        r.first_ms = ps->now;
        snprintf(r.recorder, sizeof r.recorder, "%s", recorder ? recorder : "");
        snprintf(r.path, sizeof r.path, "%s", path);
    }
    snprintf(r.reason, sizeof r.reason, "%s", reason);
    r.tries++;
    r.last_ms = ps->now;
    int64_t wait = INBOX_RETRY_MS;
    for (uint32_t i = 1; i < r.tries && wait < INBOX_RETRY_MAX_MS; i++) {
        wait *= 2;
    }
    if (wait > INBOX_RETRY_MAX_MS) {
        wait = INBOX_RETRY_MAX_MS;
    }
    r.next_ms = ps->now + wait;
    if (!known) {
        log_error("inbox: %s cannot be ingested: %s; it stays and is tried again in %lld s", path,
                  reason, (long long)(wait / 1000));
        ps->st.failed++;
    }
    int err = put_problem(ib, &r, !known);
    if (err != FT_OK) {
        log_error("cannot record the failure of %s: %s", path, ft_strerror(err));
    }
}

/* A file that was ingested after failing before: its row goes. */
static void clear_problem(inbox_t *ib, const char *path, const struct stat *st)
{
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(ib->m), NULL, 0, &txn) != 0) {
        return;
    }
    if (mstore_inbox_del(ib->m, txn, (uint64_t)st->st_dev, (uint64_t)st->st_ino, path) == FT_OK) {
        (void)mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
}

typedef struct {
    mstore_inbox_t *gone;
    size_t n, cap;
} gone_t;

/* An inbox row whose path is gone or names another inode now. */
static int collect_gone(void *ctx, const mstore_inbox_t *r)
{
    gone_t *g = ctx;
    struct stat st;
    if (lstat(r->path, &st) == 0) {
        if ((uint64_t)st.st_dev == r->dev && (uint64_t)st.st_ino == r->ino) {
            return 0;
        }
    } else if (errno != ENOENT && errno != ENOTDIR) {
        return 0;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 8;
        mstore_inbox_t *v = realloc(g->gone, cap * sizeof *v);
        if (!v) {
            return FT_ENOMEM;
        }
        g->gone = v;
        g->cap = cap;
    }
    g->gone[g->n++] = *r;
    return 0;
}

/* Drops the rows of paths that went away (end of a whole pass). */
static void forget_gone(inbox_t *ib)
{
    gone_t g = {0};
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(ib->m), NULL, MDB_RDONLY, &txn) != 0) {
        return;
    }
    lmdbx_unread_t unread = {0};
    int err = mstore_inbox_iter(ib->m, txn, collect_gone, &g, &unread);
    mdb_txn_abort(txn);
    if (err == FT_ECORRUPT && unread.n) {
        mstore_unread_report(ib->m, MSTORE_ROWS_INBOX, &unread);
        err = FT_OK; /* the rows that can be read are dropped as usual */
    }
    if (err == FT_OK && g.n && mdb_txn_begin(mstore_env(ib->m), NULL, 0, &txn) == 0) {
        for (size_t i = 0; i < g.n && err == FT_OK; i++) {
            err = mstore_inbox_del(ib->m, txn, g.gone[i].dev, g.gone[i].ino, g.gone[i].path);
        }
        if (err == FT_OK) {
            (void)mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
    }
    free(g.gone);
}

/* ---- one file --------------------------------------------------------------- */

static bool is_aux_name(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.') {
        return true;
    }
    static const char *const aux[] = {".json", ".done", ".part", ".tmp"};
    for (size_t i = 0; i < sizeof aux / sizeof *aux; i++) {
        size_t m = strlen(aux[i]);
        if (n > m && strcmp(name + n - m, aux[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A regular, singly linked file named name in dfd. */
static bool plain_file_at(int dfd, const char *name, struct stat *st)
{
    return fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st->st_mode) &&
           st->st_nlink == 1;
}

/* Removes name from dfd if it still names the inode of want. */
static bool unlink_same(int dfd, const char *name, const struct stat *want)
{
    struct stat st;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
           st.st_dev == want->st_dev && st.st_ino == want->st_ino && unlinkat(dfd, name, 0) == 0;
}

/* The file of a DONE row may leave: it is declared complete, or has not
 * changed for media.settle_ms; it is still the file ingested, and nobody has
 * it open for writing. fd: the file open, or -1. */
static void maybe_remove(pass_t *ps, int dfd, const char *name, const char *path,
                         const mstore_progress_t *p, int fd)
{
    inbox_t *ib = ps->ib;
    const ingest_opts_t *o = ingest_opts(ib->in);
    if (!p->declared && ps->now - p->mtime_ns / 1000000 < (int64_t)o->settle_ms) {
        ps->st.waiting++;
        return;
    }
    int own = -1;
    if (fd < 0) {
        own = fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            return;
        }
    }
    struct stat st;
    bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_dev == p->dev &&
                (uint64_t)st.st_ino == p->ino && (uint64_t)st.st_size == p->size &&
                mtime_ns(&st) == p->mtime_ns;
    if (!same || ingest_writer_probe(fd) == INGEST_WRITER_OPEN) {
        /* Changed since (the next pass ingests it again) or being written. */
        ps->st.waiting++;
        if (own >= 0) {
            close(own);
        }
        return;
    }
    if (unlink_same(dfd, name, &st)) {
        char aux[NAME_MAX + 8];
        struct stat ast;
        json_t *side = NULL;
        char why[256];
        if (snprintf(aux, sizeof aux, "%s.json", name) < (int)sizeof aux &&
            ingest_read_sidecar(dfd, aux, &side, why, sizeof why) == FT_OK &&
            plain_file_at(dfd, aux, &ast)) {
            (void)unlink_same(dfd, aux, &ast);
        }
        json_decref(side);
        if (snprintf(aux, sizeof aux, "%s.done", name) < (int)sizeof aux &&
            plain_file_at(dfd, aux, &ast)) {
            (void)unlink_same(dfd, aux, &ast);
        }
        if (fsync(dfd) != 0) {
            log_warn("inbox: cannot sync the folder of %s: %s", path, strerror(errno));
        }
        ps->st.removed++;
        log_info("inbox: %s removed: its ingest is committed", path);
    }
    if (own >= 0) {
        close(own);
    }
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(ib->m), NULL, 0, &txn) == 0) {
        if (mstore_progress_del(ib->m, txn, p->dev, p->ino) == FT_OK) {
            (void)mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
    }
}

/* What became of the sidecar of a file. */
typedef enum { SIDE_NONE, SIDE_OK, SIDE_WAIT, SIDE_REFUSED } side_state;

static side_state sidecar_of(pass_t *ps, int dfd, const char *name, const char *path,
                             const char *recorder, json_t **out)
{
    char side[NAME_MAX + 8], spath[INBOX_PATH_MAX * 2 + 8], why[256];
    *out = NULL;
    if (snprintf(side, sizeof side, "%s.json", name) >= (int)sizeof side ||
        snprintf(spath, sizeof spath, "%s.json", path) >= (int)sizeof spath) {
        return SIDE_NONE;
    }
    int err = ingest_read_sidecar(dfd, side, out, why, sizeof why);
    if (err == FT_OK) {
        return SIDE_OK;
    }
    if (err == FT_ENOTFOUND) {
        return SIDE_NONE;
    }
    struct stat st;
    if (fstatat(dfd, side, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return SIDE_WAIT;
    }
    if (err == FT_EAGAIN) {
        /* Half written: the clip waits, unless the sidecar stays broken. */
        int64_t settle = (int64_t)ingest_opts(ps->ib->in)->settle_ms;
        if (ps->now - mtime_ms(&st) < settle) {
            return SIDE_WAIT;
        }
        char reason[320];
        snprintf(reason, sizeof reason, "%s after %lld s; its clip is taken without it", why,
                 (long long)(settle / 1000));
        refuse(ps, spath, &st, recorder, reason);
        return SIDE_REFUSED;
    }
    if (err == FT_EINVAL) {
        char reason[320];
        snprintf(reason, sizeof reason, "%s; its clip is taken without it", why);
        refuse(ps, spath, &st, recorder, reason);
        return SIDE_REFUSED;
    }
    return SIDE_WAIT; /* an I/O error or no memory: try again */
}

static void take_file(pass_t *ps, int dfd, const char *name, const struct stat *st, const char *rel,
                      const char *recorder)
{
    inbox_t *ib = ps->ib;
    const ingest_opts_t *o = ingest_opts(ib->in);
    char path[INBOX_PATH_MAX * 2], relname[INBOX_PATH_MAX];
    if (!rel_join(relname, sizeof relname, rel, name) ||
        snprintf(path, sizeof path, "%s/%s", ib->root, relname) >= (int)sizeof path) {
        refuse(ps, name, st, recorder, "has a path too long to keep");
        return;
    }
    /* Committed before: may it leave, or did it change since? */
    mstore_progress_t p;
    MDB_txn *txn = NULL;
    int err = lmdbx_err(mdb_txn_begin(mstore_env(ib->m), NULL, MDB_RDONLY, &txn));
    if (err == FT_OK) {
        err = mstore_progress_get(ib->m, txn, (uint64_t)st->st_dev, (uint64_t)st->st_ino, &p);
        mdb_txn_abort(txn);
    }
    if (err == FT_OK && p.state == MPROG_DONE && p.size == (uint64_t)st->st_size &&
        p.mtime_ns == mtime_ns(st) && strcmp(p.path, path) == 0) {
        maybe_remove(ps, dfd, name, path, &p, -1);
        return;
    }
    if (failing_wait(ps, path, st)) {
        return;
    }
    json_t *sidecar = NULL;
    side_state ss = sidecar_of(ps, dfd, name, path, recorder, &sidecar);
    if (ss == SIDE_WAIT) {
        ps->st.waiting++;
        return;
    }
    bool declared = ss == SIDE_OK;
    char aux[NAME_MAX + 8];
    struct stat ast;
    if (!declared && snprintf(aux, sizeof aux, "%s.done", name) < (int)sizeof aux &&
        plain_file_at(dfd, aux, &ast)) {
        declared = true;
    }
    const hint_t *h = hint_find(ib, relname);
    if (!declared && h && h->kind == HINT_MOVED) {
        declared = true;
    }
    int64_t quiet = ps->now - mtime_ms(st);
    bool closed =
        h && h->kind == HINT_CLOSED && h->at_ms >= mtime_ms(st) && quiet >= INBOX_CLOSED_QUIET_MS;
    if (!declared && !closed && quiet < (int64_t)o->stable_ms) {
        ps->st.waiting++;
        json_decref(sidecar);
        return;
    }
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT && errno != ELOOP) {
            char reason[256];
            snprintf(reason, sizeof reason, "it cannot be opened: %s", strerror(errno));
            fail_file(ps, path, st, recorder, reason);
        }
        json_decref(sidecar);
        return;
    }
    struct stat fst;
    if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode) || fst.st_dev != st->st_dev ||
        fst.st_ino != st->st_ino || fst.st_nlink != 1) {
        /* Replaced between the look and the open: the next pass decides. */
        close(fd);
        json_decref(sidecar);
        return;
    }
    if (ingest_writer_probe(fd) == INGEST_WRITER_OPEN) {
        ps->st.waiting++;
        close(fd);
        json_decref(sidecar);
        return;
    }
    ingest_src_t src = {
        .path = path, .recorder = recorder, .sidecar = sidecar, .declared = declared};
    ingest_result_t res;
    err = ingest_fd(ib->in, fd, &src, &res);
    json_decref(sidecar);
    if (err == FT_OK) {
        hint_drop(ib, relname);
        clear_problem(ib, path, &fst);
        if (res.outcome == INGEST_STORED) {
            ps->st.stored++;
        }
        txn = NULL;
        int gerr = lmdbx_err(mdb_txn_begin(mstore_env(ib->m), NULL, MDB_RDONLY, &txn));
        if (gerr == FT_OK) {
            gerr = mstore_progress_get(ib->m, txn, (uint64_t)fst.st_dev, (uint64_t)fst.st_ino, &p);
            mdb_txn_abort(txn);
        }
        if (gerr == FT_OK && p.state == MPROG_DONE) {
            maybe_remove(ps, dfd, name, path, &p, fd);
        }
    } else if (err == FT_EAGAIN) {
        ps->st.waiting++;
    } else if (err == FT_EFULL || err == FT_ETIMEOUT) {
        ps->stop_err = err;
    } else {
        char reason[256];
        if (err == FT_EINVAL) {
            snprintf(reason, sizeof reason,
                     "it is too large: %llu bytes, more than %u chunks of the configured size",
                     (unsigned long long)fst.st_size, MEDIA_MAX_CHUNKS);
        } else {
            snprintf(reason, sizeof reason, "%s", ft_strerror(err));
        }
        fail_file(ps, path, &fst, recorder, reason);
    }
    sodium_memzero(&p, sizeof p);
    close(fd);
}

/* ---- the walk --------------------------------------------------------------- */

static const char *kind_word(mode_t mode)
{
    if (S_ISLNK(mode)) {
        return "is a symbolic link (never followed)";
    }
    if (S_ISFIFO(mode)) {
        return "is a FIFO, not a regular file";
    }
    if (S_ISCHR(mode) || S_ISBLK(mode)) {
        return "is a device, not a regular file";
    }
    if (S_ISSOCK(mode)) {
        return "is a socket, not a regular file";
    }
    return "is not a regular file";
}

/* Walks the folder open on dfd (taken over: closed here), rel below the
 * root; recorder is NULL at the root. */
static void walk(pass_t *ps, int dfd, const char *rel, const char *recorder, int depth)
{
    inbox_t *ib = ps->ib;
    watch_dir(ib, dfd, rel);
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while (!ps->stop_err && (e = readdir(d)) != NULL) {
        const ingest_opts_t *o = ingest_opts(ib->in);
        if (o->stop && *o->stop) {
            ps->stop_err = FT_ETIMEOUT;
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || (e->d_name[0] == '.')) {
            continue;
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue; /* gone meanwhile */
        }
        char relname[INBOX_PATH_MAX], path[INBOX_PATH_MAX * 2];
        if (!rel_join(relname, sizeof relname, rel, e->d_name)) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", ib->root, relname);
        const char *rec = recorder ? recorder : e->d_name;
        if (S_ISDIR(st.st_mode)) {
            if (depth >= INBOX_MAX_DEPTH) {
                refuse(ps, path, &st, rec, "is a folder nested too deep");
                continue;
            }
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            struct stat sst;
            if (sub < 0) {
                if (errno == ELOOP || errno == ENOTDIR) {
                    continue; /* replaced by a link meanwhile: the next pass refuses it */
                }
                continue;
            }
            if (fstat(sub, &sst) != 0 || sst.st_dev != st.st_dev || sst.st_ino != st.st_ino) {
                close(sub);
                continue;
            }
            walk(ps, sub, relname, rec, depth + 1);
            continue;
        }
        if (is_aux_name(e->d_name)) {
            continue; /* sidecars, markers, partial copies: examined with their file */
        }
        if (!S_ISREG(st.st_mode)) {
            refuse(ps, path, &st, recorder, kind_word(st.st_mode));
            continue;
        }
        if (!recorder) {
            refuse(ps, path, &st, NULL,
                   "is not in a recorder folder (files go in INBOX/<recorder>/)");
            continue;
        }
        if (st.st_nlink > 1) {
            char reason[128];
            snprintf(reason, sizeof reason,
                     "has %llu hard links (it may be a file outside the inbox)",
                     (unsigned long long)st.st_nlink);
            refuse(ps, path, &st, recorder, reason);
            continue;
        }
        take_file(ps, dirfd(d), e->d_name, &st, rel, recorder);
    }
    closedir(d);
}

int inbox_scan(inbox_t *ib, inbox_stats_t *stats)
{
    if (stats) {
        memset(stats, 0, sizeof *stats);
    }
    if (ingest_sweep(ib->in, ib->root, NULL) != FT_OK) {
        log_warn("cannot sweep abandoned ingests; tried again at the next inbox pass");
    }
    int dfd = open(ib->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT) {
            return FT_OK;
        }
        log_warn("cannot open the inbox %s: %s", ib->root, strerror(errno));
        return FT_EIO;
    }
    pass_t ps = {.ib = ib, .now = (int64_t)hlc_wall_ms()};
    walk(&ps, dfd, "", NULL, 0);
    if (!ps.stop_err) {
        forget_gone(ib);
    }
    if (stats) {
        *stats = ps.st;
    }
    return ps.stop_err;
}

int inbox_watch(inbox_t *ib, volatile sig_atomic_t *stop)
{
    if (fsutil_mkdirs(ib->root, 0700) != FT_OK) {
        log_warn("cannot create the inbox %s", ib->root);
    }
    ib->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ib->ifd < 0) {
        log_warn("inotify unavailable (%s): scanning %s every second", strerror(errno), ib->root);
    }
    log_info("watching the inbox %s", ib->root);
    const ingest_opts_t *o = ingest_opts(ib->in);
    int64_t last_scan = 0, last_age_prune = 0;
    bool dirty = true;
    while (!*stop) {
        int64_t now = (int64_t)hlc_wall_ms();
        /* Scan when something changed, when a file may have become stable,
         * and every second regardless (a missed event costs little). */
        if (dirty || now - last_scan >= 1000) {
            dirty = false;
            last_scan = now;
            int err = inbox_scan(ib, NULL);
            if (err == FT_EFULL) {
                /* Paused: try again in a while (receipts may allow pruning). */
                for (int i = 0; i < 20 && !*stop; i++) {
                    usleep(100 * 1000);
                }
                continue;
            }
        }
        if (o->keep_ms && now - last_age_prune >= 60000) {
            last_age_prune = now;
            unsigned pruned = 0;
            if (mstore_prune(ib->m, o->keep_ms, 0, &pruned) != FT_OK) {
                log_warn("pruning by age failed");
            }
        }
        if (ib->ifd >= 0) {
            struct pollfd pfd = {.fd = ib->ifd, .events = POLLIN};
            if (poll(&pfd, 1, 250) > 0 && read_events(ib)) {
                dirty = true;
            }
        } else {
            usleep(250 * 1000);
        }
    }
    return FT_OK;
}

/* ---- status ----------------------------------------------------------------- */

static int problem_json(void *ctx, const mstore_inbox_t *r)
{
    json_t *a = ctx;
    json_t *o = json_object();
    if (!o) {
        return 0;
    }
    json_object_set_new(o, "kind", json_string(r->kind == MINBOX_REFUSED ? "refused" : "failed"));
    json_object_set_new(o, "path", utf8_json_string(r->path));
    json_object_set_new(o, "recorder", utf8_json_string(r->recorder));
    json_object_set_new(o, "reason", utf8_json_string(r->reason));
    json_object_set_new(o, "since_ms", json_integer(r->first_ms));
    json_object_set_new(o, "size", json_integer((json_int_t)r->size));
    if (r->kind == MINBOX_FAILED) {
        json_object_set_new(o, "tries", json_integer(r->tries));
        json_object_set_new(o, "next_try_ms", json_integer(r->next_ms));
    }
    json_array_append_new(a, o);
    return 0;
}

json_t *inbox_problems_json(mstore_t *m)
{
    json_t *a = json_array();
    MDB_txn *txn = NULL;
    if (a && mdb_txn_begin(mstore_env(m), NULL, MDB_RDONLY, &txn) == 0) {
        lmdbx_unread_t unread = {0};
        int err = mstore_inbox_iter(m, txn, problem_json, a, &unread);
        if (err == FT_ECORRUPT && unread.n) {
            mstore_unread_report(m, MSTORE_ROWS_INBOX, &unread);
        } else if (err != FT_OK) {
            log_warn("the list of refused and failing inbox files is incomplete: %s",
                     ft_strerror(err));
        }
        mdb_txn_abort(txn);
    }
    return a;
}
