/* officers.c: officers and PINs in STATE/officers.json (see officers.h). */
#include "officers.h"
#include "fsutil.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* What an unknown ID is tested against, so that it takes as long as a known
 * one (crypto_pwhash_str of a PIN nobody has, interactive limits). */
static const char DUMMY_HASH[] = "$argon2id$v=19$m=65536,t=2,p=1$ygJ9jLtDixtExQ0a6X0UMQ$"
                                 "Fyr0atwGyuqjI8ZjviGxnBAAV3ei8Wz8ocS0zxHbiaA";

bool officer_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= OFFICER_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool officer_pin_valid(const char *pin)
{
    size_t n = pin ? strlen(pin) : 0;
    if (n < OFFICER_PIN_MIN || n > OFFICER_PIN_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)pin[i] < 0x20 || pin[i] == 0x7F) {
            return false;
        }
    }
    return true;
}

int64_t officers_backoff(unsigned n)
{
    if (n <= OFFICERS_FREE_FAILURES) {
        return 0;
    }
    int64_t ms = OFFICERS_LOCK_FIRST_MS;
    for (unsigned i = OFFICERS_FREE_FAILURES + 1; i < n && ms < OFFICERS_LOCK_MAX_MS; i++) {
        ms *= 2;
    }
    return ms < OFFICERS_LOCK_MAX_MS ? ms : OFFICERS_LOCK_MAX_MS;
}

/* ---- the file, under its lock ---- */

/* The lock held around one read-modify-write of the file. */
typedef struct {
    int fd;
    char path[4096]; /* the officers file */
} held_t;

static int lock_take(const char *state, held_t *h)
{
    char lock[4096];
    h->fd = -1;
    if (fsutil_join(h->path, sizeof h->path, state, OFFICERS_FILE) != FT_OK ||
        fsutil_join(lock, sizeof lock, state, OFFICERS_LOCK) != FT_OK) {
        return FT_EINVAL;
    }
    h->fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (h->fd < 0) {
        return FT_EIO;
    }
    while (flock(h->fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(h->fd);
            h->fd = -1;
            return FT_EIO;
        }
    }
    return FT_OK;
}

static void lock_drop(held_t *h)
{
    if (h->fd >= 0) {
        close(h->fd); /* releases the flock */
        h->fd = -1;
    }
}

/* Reads the file: {"version":1,"officers":[...]} (a new one when absent). */
static int file_read(const held_t *h, json_t **out)
{
    char *text = NULL;
    size_t len = 0;
    int err = fsutil_read_all(h->path, &text, &len);
    if (err == FT_ENOTFOUND) {
        *out = json_pack("{s:i, s:[]}", "version", 1, "officers");
        return *out ? FT_OK : FT_ENOMEM;
    }
    if (err != FT_OK) {
        return err;
    }
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    sodium_memzero(text, len);
    free(text);
    if (!json_is_array(json_object_get(*out, "officers"))) {
        json_decref(*out);
        *out = NULL;
        return FT_ECORRUPT;
    }
    return FT_OK;
}

static int file_write(const held_t *h, const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!text) {
        return FT_ENOMEM;
    }
    size_t n = strlen(text);
    int err = fsutil_write_atomic(h->path, text, n, 0600);
    sodium_memzero(text, n);
    free(text);
    return err;
}

/* The row of id in doc, and its index. */
static json_t *find(json_t *doc, const char *id, size_t *at)
{
    json_t *list = json_object_get(doc, "officers"), *row;
    size_t i;
    json_array_foreach(list, i, row)
    {
        const char *rid = json_string_value(json_object_get(row, "id"));
        if (rid && strcmp(rid, id) == 0) {
            if (at) {
                *at = i;
            }
            return row;
        }
    }
    return NULL;
}

static void row_officer(const json_t *row, officer_t *o)
{
    memset(o, 0, sizeof *o);
    utf8_copy(o->id, sizeof o->id, json_string_value(json_object_get(row, "id")));
    utf8_copy(o->name, sizeof o->name, json_string_value(json_object_get(row, "name")));
    o->created_ms = json_integer_value(json_object_get(row, "created_ms"));
    o->failures = (unsigned)json_integer_value(json_object_get(row, "failures"));
    o->locked_until_ms = json_integer_value(json_object_get(row, "locked_until_ms"));
}

static int hash_pin(const char *pin, char out[crypto_pwhash_STRBYTES])
{
    if (sodium_init() < 0) {
        return FT_ECRYPTO;
    }
    if (crypto_pwhash_str(out, pin, strlen(pin), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        return FT_ENOMEM;
    }
    return FT_OK;
}

int officers_add(const char *state, const char *id, const char *name, const char *pin,
                 int64_t now_ms)
{
    if (!officer_id_valid(id) || !officer_pin_valid(pin) ||
        (name && (strlen(name) >= OFFICER_NAME_MAX || !utf8_valid(name, strlen(name))))) {
        return FT_EINVAL;
    }
    char hash[crypto_pwhash_STRBYTES];
    int err = hash_pin(pin, hash);
    if (err != FT_OK) {
        return err;
    }
    held_t h;
    json_t *doc = NULL;
    err = lock_take(state, &h);
    if (err == FT_OK) {
        err = file_read(&h, &doc);
    }
    if (err == FT_OK && find(doc, id, NULL)) {
        err = FT_EEXIST;
    }
    if (err == FT_OK) {
        json_t *row = json_pack("{s:s, s:s, s:s, s:I, s:i, s:I}", "id", id, "name",
                                name ? name : "", "pinhash", hash, "created_ms", (json_int_t)now_ms,
                                "failures", 0, "locked_until_ms", (json_int_t)0);
        err = row && json_array_append_new(json_object_get(doc, "officers"), row) == 0
                  ? file_write(&h, doc)
                  : FT_ENOMEM;
    }
    json_decref(doc);
    lock_drop(&h);
    sodium_memzero(hash, sizeof hash);
    return err;
}

int officers_set_pin(const char *state, const char *id, const char *pin)
{
    if (!officer_pin_valid(pin)) {
        return FT_EINVAL;
    }
    char hash[crypto_pwhash_STRBYTES];
    int err = hash_pin(pin, hash);
    if (err != FT_OK) {
        return err;
    }
    held_t h;
    json_t *doc = NULL, *row = NULL;
    err = lock_take(state, &h);
    if (err == FT_OK) {
        err = file_read(&h, &doc);
    }
    if (err == FT_OK) {
        row = find(doc, id, NULL);
        err = row ? FT_OK : FT_ENOTFOUND;
    }
    if (err == FT_OK) {
        json_object_set_new(row, "pinhash", json_string(hash));
        json_object_set_new(row, "failures", json_integer(0));
        json_object_set_new(row, "locked_until_ms", json_integer(0));
        err = file_write(&h, doc);
    }
    json_decref(doc);
    lock_drop(&h);
    sodium_memzero(hash, sizeof hash);
    return err;
}

int officers_remove(const char *state, const char *id)
{
    held_t h;
    json_t *doc = NULL;
    size_t at = 0;
    int err = lock_take(state, &h);
    if (err == FT_OK) {
        err = file_read(&h, &doc);
    }
    if (err == FT_OK) {
        err = find(doc, id, &at) ? FT_OK : FT_ENOTFOUND;
    }
    if (err == FT_OK) {
        json_array_remove(json_object_get(doc, "officers"), at);
        err = file_write(&h, doc);
    }
    json_decref(doc);
    lock_drop(&h);
    return err;
}

int officers_list(const char *state, officer_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    held_t h;
    json_t *doc = NULL;
    int err = lock_take(state, &h);
    if (err == FT_OK) {
        err = file_read(&h, &doc);
    }
    lock_drop(&h);
    if (err != FT_OK) {
        return err;
    }
    json_t *list = json_object_get(doc, "officers"), *row;
    size_t count = json_array_size(list), i;
    if (count) {
        *out = calloc(count, sizeof **out);
        if (!*out) {
            json_decref(doc);
            return FT_ENOMEM;
        }
    }
    json_array_foreach(list, i, row)
    {
        row_officer(row, &(*out)[i]);
    }
    *n = count;
    json_decref(doc);
    return FT_OK;
}

/* Under the lock: refuses a locked-out officer, else counts the attempt as
 * a failure (written) and copies its PIN hash. FT_OK, FT_ENOTFOUND,
 * FT_EAGAIN (*wait_ms). */
static int check_begin(const char *state, const char *id, int64_t now_ms, char *hash,
                       int64_t *wait_ms)
{
    held_t h;
    json_t *doc = NULL, *row = NULL;
    int err = lock_take(state, &h);
    if (err == FT_OK) {
        err = file_read(&h, &doc);
    }
    if (err == FT_OK) {
        row = find(doc, id, NULL);
        err = row ? FT_OK : FT_ENOTFOUND;
    }
    if (err == FT_OK) {
        officer_t o;
        row_officer(row, &o);
        if (o.locked_until_ms > now_ms) {
            *wait_ms = o.locked_until_ms - now_ms;
            err = FT_EAGAIN;
        } else {
            unsigned n = o.failures + 1;
            int64_t lock = officers_backoff(n);
            json_object_set_new(row, "failures", json_integer(n));
            json_object_set_new(row, "locked_until_ms", json_integer(lock ? now_ms + lock : 0));
            utf8_copy(hash, crypto_pwhash_STRBYTES,
                      json_string_value(json_object_get(row, "pinhash")));
            err = file_write(&h, doc);
        }
    }
    json_decref(doc);
    lock_drop(&h);
    return err;
}

/* Under the lock: the outcome of the test (success forgets the failures; a
 * failure's lockout runs from now). */
static int check_end(const char *state, const char *id, bool ok, int64_t now_ms, officer_t *out)
{
    held_t h;
    json_t *doc = NULL, *row = NULL;
    int err = lock_take(state, &h);
    if (err == FT_OK) {
        err = file_read(&h, &doc);
    }
    if (err == FT_OK) {
        row = find(doc, id, NULL);
        err = row ? FT_OK : FT_ENOTFOUND; /* removed meanwhile */
    }
    if (err == FT_OK) {
        officer_t o;
        row_officer(row, &o);
        int64_t lock = ok ? 0 : officers_backoff(o.failures);
        if (ok) {
            json_object_set_new(row, "failures", json_integer(0));
        }
        json_object_set_new(row, "locked_until_ms", json_integer(lock ? now_ms + lock : 0));
        err = file_write(&h, doc);
        row_officer(row, out);
    }
    json_decref(doc);
    lock_drop(&h);
    return err;
}

int officers_check(const char *state, const char *id, const char *pin, int64_t now_ms,
                   officer_t *out, int64_t *wait_ms, bool *locked_now)
{
    memset(out, 0, sizeof *out);
    *wait_ms = 0;
    *locked_now = false;
    if (sodium_init() < 0) {
        return FT_ECRYPTO;
    }
    char hash[crypto_pwhash_STRBYTES] = "";
    size_t n = pin ? strlen(pin) : 0;
    int err = officer_id_valid(id) ? check_begin(state, id, now_ms, hash, wait_ms) : FT_ENOTFOUND;
    if (err == FT_EAGAIN || (err != FT_OK && err != FT_ENOTFOUND)) {
        return err;
    }
    bool known = err == FT_OK;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!known) {
        snprintf(hash, sizeof hash, "%s", DUMMY_HASH);
    }
    bool ok = crypto_pwhash_str_verify(hash, pin ? pin : "", n <= OFFICER_PIN_MAX ? n : 0) == 0 &&
              known && n <= OFFICER_PIN_MAX;
    sodium_memzero(hash, sizeof hash);
    if (!known) {
        return FT_EKEY;
    }
    /* the lockout runs from the end of the test, not its start */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t end_ms = now_ms + (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
                     (int64_t)(t1.tv_nsec - t0.tv_nsec) / 1000000;
    err = check_end(state, id, ok, end_ms, out);
    if (err != FT_OK) {
        return err == FT_ENOTFOUND ? FT_EKEY : err;
    }
    if (!ok) {
        *locked_now = out->locked_until_ms > 0;
        *wait_ms = out->locked_until_ms > 0 ? out->locked_until_ms - end_ms : 0;
        return FT_EKEY;
    }
    return FT_OK;
}
