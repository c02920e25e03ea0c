/* loginlimit.c: failed-login counting and lockouts (see loginlimit.h). */
#include "loginlimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SETS (LOGINLIMIT_SLOTS / LOGINLIMIT_WAYS)

void loginlimit_defaults(loginlimit_opts_t *o)
{
    o->free_failures = LOGINLIMIT_DEFAULT_FREE;
    o->first_ms = LOGINLIMIT_DEFAULT_FIRST_MS;
    o->max_ms = LOGINLIMIT_DEFAULT_MAX_MS;
    o->forget_ms = LOGINLIMIT_DEFAULT_FORGET_MS;
}

/* A whole number in [lo, hi] from key, or def when it is not set. */
static int u64_key(const config_t *cfg, const char *key, uint64_t lo, uint64_t hi, uint64_t def,
                   uint64_t *out, char *err, size_t errlen)
{
    const char *text = config_get(cfg, key);
    *out = def;
    if (!text) {
        return FT_OK;
    }
    if (config_parse_u64(text, out) != FT_OK || *out < lo || *out > hi) {
        snprintf(err, errlen, "%s must be a whole number from %llu to %llu, not \"%s\"", key,
                 (unsigned long long)lo, (unsigned long long)hi, text);
        return FT_EINVAL;
    }
    return FT_OK;
}

int loginlimit_opts_from_config(const config_t *cfg, loginlimit_opts_t *o, char *err, size_t errlen)
{
    loginlimit_defaults(o);
    uint64_t n = 0, first = 0, max = 0;
    int rc = u64_key(cfg, "http.login_max_failures", 0, 1000000, LOGINLIMIT_DEFAULT_FREE, &n, err,
                     errlen);
    if (rc == FT_OK) {
        rc = u64_key(cfg, "http.login_backoff_s", 1, 86400, LOGINLIMIT_DEFAULT_FIRST_MS / 1000,
                     &first, err, errlen);
    }
    if (rc == FT_OK) {
        rc = u64_key(cfg, "http.login_backoff_max_s", 1, 7 * 86400,
                     LOGINLIMIT_DEFAULT_MAX_MS / 1000, &max, err, errlen);
    }
    if (rc == FT_OK && max < first) {
        snprintf(err, errlen,
                 "http.login_backoff_max_s (%llu) must not be less than http.login_backoff_s "
                 "(%llu)",
                 (unsigned long long)max, (unsigned long long)first);
        rc = FT_EINVAL;
    }
    if (rc != FT_OK) {
        return rc;
    }
    o->free_failures = (unsigned)n;
    o->first_ms = (int64_t)first * 1000;
    o->max_ms = (int64_t)max * 1000;
    return FT_OK;
}

void loginlimit_init(loginlimit_t *l, const loginlimit_opts_t *opts)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
    if (opts) {
        l->o = *opts;
    } else {
        loginlimit_defaults(&l->o);
    }
    if (l->o.max_ms < l->o.first_ms) {
        l->o.max_ms = l->o.first_ms;
    }
    if (sodium_init() < 0) {
        /* libsodium cannot run at all: the hub checked at start; keys stay
         * zero, which only makes the sets predictable */
        return;
    }
    randombytes_buf(l->key_user, sizeof l->key_user);
    randombytes_buf(l->key_addr, sizeof l->key_addr);
}

void loginlimit_fini(loginlimit_t *l)
{
    pthread_mutex_destroy(&l->lock);
    sodium_memzero(l->key_user, sizeof l->key_user);
    sodium_memzero(l->key_addr, sizeof l->key_addr);
}

int64_t loginlimit_backoff(const loginlimit_opts_t *o, unsigned n)
{
    if (n <= o->free_failures) {
        return 0;
    }
    int64_t ms = o->first_ms;
    for (unsigned k = n - o->free_failures - 1; k > 0 && ms < o->max_ms; k--) {
        ms *= 2;
    }
    return ms < o->max_ms ? ms : o->max_ms;
}

static uint64_t tag_of(const loginlimit_t *l, bool user, const char *text)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)text, strlen(text),
                     user ? l->key_user : l->key_addr);
    uint64_t t;
    memcpy(&t, h, sizeof t);
    return t ? t : 1; /* 0 marks a free slot */
}

static int64_t remaining(const loginlimit_slot_t *s, int64_t now)
{
    return s && s->until_ms > now ? s->until_ms - now : 0;
}

/* The slot of tag, or NULL; with create, a new one (a free slot, else the
 * one whose last failure is oldest, preferring those not locked out). A
 * count past forget_ms starts over. */
static loginlimit_slot_t *find(loginlimit_t *l, uint64_t tag, int64_t now, bool create)
{
    loginlimit_slot_t *set = &l->slots[(tag >> 16) % SETS * LOGINLIMIT_WAYS];
    loginlimit_slot_t *victim = NULL;
    for (size_t i = 0; i < LOGINLIMIT_WAYS; i++) {
        loginlimit_slot_t *s = &set[i];
        if (s->tag == tag) {
            if (s->until_ms <= now && now - s->last_ms >= l->o.forget_ms) {
                s->failures = 0;
                s->warned = 0;
            }
            return s;
        }
        if (!create) {
            continue;
        }
        if (s->tag == 0) {
            if (!victim || victim->tag != 0) {
                victim = s;
            }
            continue;
        }
        if (victim && victim->tag == 0) {
            continue;
        }
        bool locked = s->until_ms > now;
        bool v_locked = victim && victim->until_ms > now;
        if (!victim || (v_locked && !locked) ||
            (v_locked == locked && s->last_ms < victim->last_ms)) {
            victim = s;
        }
    }
    if (!victim) {
        return NULL;
    }
    if (victim->tag != 0) {
        l->evictions++;
    }
    memset(victim, 0, sizeof *victim);
    victim->tag = tag;
    return victim;
}

/* Counts one failure in s; returns the lockout it starts. */
static int64_t count_failure(loginlimit_t *l, loginlimit_slot_t *s, int64_t now)
{
    if (s->failures < UINT32_MAX) {
        s->failures++;
    }
    s->last_ms = now;
    int64_t lock = loginlimit_backoff(&l->o, s->failures);
    if (lock > 0) {
        s->until_ms = now + lock;
        s->warned = 0;
    }
    return lock;
}

void loginlimit_begin(loginlimit_t *l, const char *user, const char *addr, int64_t now_ms,
                      loginlimit_verdict_t *v)
{
    memset(v, 0, sizeof *v);
    if (addr && !addr[0]) {
        addr = NULL;
    }
    uint64_t tu = user ? tag_of(l, true, user) : 0, ta = addr ? tag_of(l, false, addr) : 0;
    pthread_mutex_lock(&l->lock);
    loginlimit_slot_t *su = user ? find(l, tu, now_ms, false) : NULL;
    loginlimit_slot_t *sa = addr ? find(l, ta, now_ms, false) : NULL;
    int64_t wu = remaining(su, now_ms), wa = remaining(sa, now_ms);
    if (wu > 0 || wa > 0) {
        loginlimit_slot_t *s = wu >= wa ? su : sa;
        v->wait_ms = wu >= wa ? wu : wa;
        v->user_locked = wu >= wa;
        v->first_refusal = !s->warned;
        v->failures = s->failures;
        s->warned = 1;
        l->refused++;
        pthread_mutex_unlock(&l->lock);
        return;
    }
    int64_t lu = 0, la = 0;
    unsigned fu = 0, fa = 0;
    if (user && (su = find(l, tu, now_ms, true)) != NULL) {
        lu = count_failure(l, su, now_ms);
        fu = su->failures;
    }
    if (addr && (sa = find(l, ta, now_ms, true)) != NULL) {
        la = count_failure(l, sa, now_ms);
        fa = sa->failures;
    }
    v->failures = fu > fa ? fu : fa;
    v->lockout_ms = lu >= la ? lu : la;
    v->lockout_by_user = lu >= la && lu > 0;
    pthread_mutex_unlock(&l->lock);
}

void loginlimit_success(loginlimit_t *l, const char *user, const char *addr)
{
    if (addr && !addr[0]) {
        addr = NULL;
    }
    uint64_t tu = user ? tag_of(l, true, user) : 0, ta = addr ? tag_of(l, false, addr) : 0;
    pthread_mutex_lock(&l->lock);
    loginlimit_slot_t *s = user ? find(l, tu, 0, false) : NULL;
    if (s) {
        memset(s, 0, sizeof *s);
    }
    s = addr ? find(l, ta, 0, false) : NULL;
    if (s) {
        memset(s, 0, sizeof *s);
    }
    pthread_mutex_unlock(&l->lock);
}

/* Restarts s's lockout at now if its count has one. */
static void restamp(const loginlimit_t *l, loginlimit_slot_t *s, int64_t now)
{
    int64_t lock = s ? loginlimit_backoff(&l->o, s->failures) : 0;
    if (lock > 0 && now + lock > s->until_ms) {
        s->until_ms = now + lock;
    }
}

void loginlimit_failed(loginlimit_t *l, const char *user, const char *addr, int64_t now_ms)
{
    if (addr && !addr[0]) {
        addr = NULL;
    }
    uint64_t tu = user ? tag_of(l, true, user) : 0, ta = addr ? tag_of(l, false, addr) : 0;
    pthread_mutex_lock(&l->lock);
    restamp(l, user ? find(l, tu, now_ms, false) : NULL, now_ms);
    restamp(l, addr ? find(l, ta, now_ms, false) : NULL, now_ms);
    pthread_mutex_unlock(&l->lock);
}

void loginlimit_addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    if (len) {
        buf[0] = '\0';
    }
    if (!sa || len < INET6_ADDRSTRLEN + 4) {
        return;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
        if (!inet_ntop(AF_INET, &a4->sin_addr, buf, (socklen_t)len)) {
            buf[0] = '\0';
        }
        return;
    }
    if (sa->sa_family != AF_INET6) {
        return;
    }
    struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
        if (!inet_ntop(AF_INET, &a.s6_addr[12], buf, (socklen_t)len)) {
            buf[0] = '\0';
        }
        return;
    }
    memset(&a.s6_addr[8], 0, 8); /* one client may hold a whole /64 */
    if (!inet_ntop(AF_INET6, &a, buf, (socklen_t)len)) {
        buf[0] = '\0';
        return;
    }
    strcat(buf, "/64");
}

size_t loginlimit_used(loginlimit_t *l)
{
    size_t n = 0;
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < LOGINLIMIT_SLOTS; i++) {
        n += l->slots[i].tag != 0;
    }
    pthread_mutex_unlock(&l->lock);
    return n;
}

uint64_t loginlimit_evictions(loginlimit_t *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t n = l->evictions;
    pthread_mutex_unlock(&l->lock);
    return n;
}

uint64_t loginlimit_refused(loginlimit_t *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t n = l->refused;
    pthread_mutex_unlock(&l->lock);
    return n;
}
