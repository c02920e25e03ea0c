/* subscribers.c: the PUB socket's allow-list and ZAP handler (see
 * subscribers.h). */
#include "subscribers.h"
#include "fsutil.h"
#include "hlc.h"
#include "keys.h"
#include "logging.h"
#include "utf8.h"
#include "zrefuse.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

int subscribers_parse_key(const char *text, uint8_t key[32])
{
    if (!text || strlen(text) != 64) {
        return FT_EINVAL;
    }
    return hex_decode(text, key, 32) == FT_OK ? FT_OK : FT_EINVAL;
}

int subscribers_read(const char *path, subscriber_t **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    char *data = NULL;
    size_t len = 0;
    int rc = fsutil_read_all(path, &data, &len);
    if (rc == FT_ENOTFOUND) {
        return FT_OK;
    }
    if (rc != FT_OK) {
        snprintf(err, errlen, "cannot read %s: %s", path, ft_strerror(rc));
        return rc;
    }
    subscriber_t *list = NULL;
    size_t count = 0, line_no = 0;
    int result = FT_OK;
    for (char *save = NULL, *line = strtok_r(data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        while (*line == ' ' || *line == '\t') {
            line++;
        }
        if (*line == '\0' || *line == '#') {
            continue;
        }
        char hex[65] = "";
        size_t i = 0;
        while (line[i] && line[i] != ' ' && line[i] != '\t' && i < 64) {
            hex[i] = line[i];
            i++;
        }
        hex[i] = '\0';
        subscriber_t s = {0};
        if ((line[i] && line[i] != ' ' && line[i] != '\t') ||
            subscribers_parse_key(hex, s.key) != FT_OK || count >= SUBSCRIBERS_MAX) {
            snprintf(err, errlen, "%s line %zu: not a subscriber key (64 hex digits, a name)", path,
                     line_no);
            result = FT_ECORRUPT;
            break;
        }
        const char *name = line + i;
        while (*name == ' ' || *name == '\t') {
            name++;
        }
        utf8_copy(s.name, sizeof s.name, name);
        subscriber_t *grown = realloc(list, (count + 1) * sizeof *grown);
        if (!grown) {
            result = FT_ENOMEM;
            break;
        }
        list = grown;
        list[count++] = s;
    }
    free(data);
    if (result != FT_OK) {
        free(list);
        return result;
    }
    *out = list;
    *n = count;
    return FT_OK;
}

int subscribers_write(const char *path, const subscriber_t *s, size_t n)
{
    size_t cap = 128 + n * (65 + 2 + SUBSCRIBER_NAME_MAX * 4);
    char *buf = malloc(cap);
    if (!buf) {
        return FT_ENOMEM;
    }
    size_t len = (size_t)snprintf(buf, cap,
                                  "# fieldtrail alert subscribers: CurveZMQ client key, name\n"
                                  "# (fieldtrail-hub subscriber add|remove|list)\n");
    for (size_t i = 0; i < n; i++) {
        char hex[65], name[SUBSCRIBER_NAME_MAX * 4];
        hex_encode(s[i].key, 32, hex);
        utf8_clean_to(name, sizeof name, s[i].name); /* one line, whatever was typed */
        len += (size_t)snprintf(buf + len, cap - len, "%s %s\n", hex, name);
    }
    int err = fsutil_write_atomic(path, buf, len, 0600);
    free(buf);
    return err;
}

/* ---- the ZAP handler ------------------------------------------------------ */

struct subscribers_zap_t {
    void *rep;
    char path[4200];
    devlog_t *hublog;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    subscriber_t *list; /* the allow-list as last read */
    size_t n;
    struct timespec mtime; /* of the file as last read */
    off_t size;
    bool loaded, missing;
    zrefuse_t *ledger;
};

/* Reads the file again if it changed since the last read. */
static void reload(subscribers_zap_t *z)
{
    struct stat st;
    if (stat(z->path, &st) != 0) {
        if (!z->missing || !z->loaded) {
            free(z->list);
            z->list = NULL;
            z->n = 0;
        }
        z->missing = true;
        z->loaded = true;
        return;
    }
    if (z->loaded && !z->missing && st.st_size == z->size && st.st_mtim.tv_sec == z->mtime.tv_sec &&
        st.st_mtim.tv_nsec == z->mtime.tv_nsec) {
        return;
    }
    subscriber_t *list = NULL;
    size_t n = 0;
    char err[512] = "";
    if (subscribers_read(z->path, &list, &n, err, sizeof err) != FT_OK) {
        log_error("alert subscribers: %s; keeping the list read before", err);
    } else {
        free(z->list);
        z->list = list;
        z->n = n;
        log_info("alert subscribers: %zu key%s allowed (%s)", n, n == 1 ? "" : "s", z->path);
    }
    z->mtime = st.st_mtim;
    z->size = st.st_size;
    z->missing = false;
    z->loaded = true;
}

static const subscriber_t *allowed(subscribers_zap_t *z, const uint8_t *key)
{
    for (size_t i = 0; i < z->n; i++) {
        if (memcmp(z->list[i].key, key, 32) == 0) {
            return &z->list[i];
        }
    }
    return NULL;
}

static void audit_flush(void *ctx, const zrefusal_t *rows, size_t n, const zrefusal_t *others,
                        bool audit)
{
    subscribers_zap_t *z = ctx;
    if (!audit || !z->hublog) {
        return;
    }
    char detail[1024];
    if (!zrefuse_audit_detail(detail, sizeof detail, "subscriber handshakes refused", false, rows,
                              n, others)) {
        return;
    }
    if (devlog_append1_audit(z->hublog, "-", "connection_refused", "alerts", detail, NULL) !=
        FT_OK) {
        log_error("cannot write the audit entry of refused subscribers");
    }
}

static void send_reply(void *sock, const char *req_id, size_t req_id_len, const char *code,
                       const char *text, const char *user_id)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, req_id, req_id_len, ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

#define ZAP_FRAMES 8
#define ZAP_FRAME_MAX 256

/* Answers one request (ZAP 1.0: version, request id, domain, address,
 * identity, mechanism, credentials...). */
static void answer(subscribers_zap_t *z)
{
    char f[ZAP_FRAMES][ZAP_FRAME_MAX + 1];
    size_t len[ZAP_FRAMES] = {0};
    int n = 0;
    bool bad = false;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->rep, 0) < 0) {
            zmq_msg_close(&m);
            return;
        }
        size_t l = zmq_msg_size(&m);
        if (n < ZAP_FRAMES && l <= ZAP_FRAME_MAX) {
            memcpy(f[n], zmq_msg_data(&m), l);
            f[n][l] = '\0';
            len[n] = l;
        } else {
            bad = true;
        }
        n++;
        bool more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (!more) {
            break;
        }
    }
    if (bad || n < 6 || strcmp(f[0], "1.0") != 0) {
        send_reply(z->rep, n >= 2 ? f[1] : "", n >= 2 ? len[1] : 0, "500", "malformed", "");
        return;
    }
    const uint8_t *key = n >= 7 && len[6] == 32 ? (const uint8_t *)f[6] : NULL;
    if (strcmp(f[2], SUBSCRIBERS_ZAP_DOMAIN) == 0 && strcmp(f[5], "CURVE") == 0 && key) {
        reload(z);
        const subscriber_t *s = allowed(z, key);
        if (s) {
            char hex[65];
            hex_encode(key, 32, hex);
            send_reply(z->rep, f[1], len[1], "200", "OK", hex);
            log_info("alert subscriber \"%s\" connected from %s", s->name, f[3]);
            return;
        }
    }
    send_reply(z->rep, f[1], len[1], "400", "not an allowed subscriber key", "");
    if (zrefuse_note(z->ledger, key, "not_allowed", f[3], (int64_t)hlc_wall_ms())) {
        char hex[65] = "-";
        if (key) {
            hex_encode(key, 32, hex);
        }
        log_warn("refused an alert subscriber from %s: key %s is not on the list (`fieldtrail-hub "
                 "subscriber add KEY` allows one)",
                 f[3], hex);
    }
}

static void *zap_thread(void *arg)
{
    subscribers_zap_t *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t it = {z->rep, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 250) > 0) {
            answer(z);
        }
    }
    return NULL;
}

int subscribers_zap_start(void *zctx, const char *path, devlog_t *hublog, subscribers_zap_t **out)
{
    *out = NULL;
    subscribers_zap_t *z = calloc(1, sizeof *z);
    if (!z) {
        return FT_ENOMEM;
    }
    snprintf(z->path, sizeof z->path, "%s", path);
    z->hublog = hublog;
    atomic_init(&z->stop, false);
    zrefuse_opts_t ro = {.name = "alerts", .flush = audit_flush, .ctx = z};
    if (zrefuse_new(&ro, &z->ledger) != FT_OK) {
        free(z);
        return FT_ENOMEM;
    }
    reload(z);
    int zero = 0;
    z->rep = zmq_socket(zctx, ZMQ_REP);
    if (!z->rep || zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(z->rep, "inproc://zeromq.zap.01") != 0) {
        log_error("cannot start the alert subscribers' ZAP handler: %s", zmq_strerror(zmq_errno()));
        subscribers_zap_stop(&z);
        return FT_EIO;
    }
    if (pthread_create(&z->thread, NULL, zap_thread, z) != 0) {
        subscribers_zap_stop(&z);
        return FT_ENOMEM;
    }
    z->started = true;
    *out = z;
    return FT_OK;
}

void subscribers_zap_stop(subscribers_zap_t **z_p)
{
    subscribers_zap_t *z = *z_p;
    if (!z) {
        return;
    }
    atomic_store(&z->stop, true);
    if (z->started) {
        pthread_join(z->thread, NULL);
    }
    if (z->rep) {
        zmq_close(z->rep);
    }
    zrefuse_destroy(&z->ledger);
    free(z->list);
    free(z);
    *z_p = NULL;
}
