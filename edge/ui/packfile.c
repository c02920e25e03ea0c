/* packfile.c: the hub's rule pack as the vehicle keeps it (see packfile.h). */
#include "packfile.h"
#include "fsutil.h"
#include "keys.h"
#include "wire.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HEAD[] = "# fieldtrail rule pack from the hub: signed; a changed byte makes it "
                           "unused\n";

/* The file's bytes for text signed by key. */
static char *compose(const uint8_t *text, size_t len, const uint8_t sig[64], const uint8_t key[32],
                     size_t *out_len)
{
    char khex[65], shex[129];
    hex_encode(key, 32, khex);
    hex_encode(sig, 64, shex);
    size_t head = strlen(HEAD) + strlen("# key: \n# sig: \n") + 64 + 128;
    char *buf = malloc(head + len + 1);
    if (!buf) {
        return NULL;
    }
    int n = snprintf(buf, head + 1, "%s# key: %s\n# sig: %s\n", HEAD, khex, shex);
    memcpy(buf + n, text, len);
    buf[n + len] = '\0';
    *out_len = (size_t)n + len;
    return buf;
}

/* The refusal's reason, with what stays in use. */
__attribute__((format(printf, 4, 5))) static int refuse(int err, char *why, size_t whylen,
                                                        const char *fmt, ...)
{
    char head[4400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    snprintf(why, whylen,
             "the hub's rule pack is not kept: %s; the screen goes on judging by "
             "the pack kept before (" PACKFILE_NAME "), or the built-in default if none",
             head);
    return err;
}

int packfile_store(const char *state, const uint8_t *text, size_t len, const uint8_t *sig,
                   const uint8_t key[32], bool *changed, char *why, size_t whylen)
{
    *changed = false;
    if (whylen) {
        why[0] = '\0';
    }
    if (!sig) {
        return refuse(FT_EBADSIG, why, whylen, "it came without the hub's signature");
    }
    if (len == 0) {
        return refuse(FT_EINVAL, why, whylen, "it is empty");
    }
    if (len > WIRE_MAX_RULE_PACK) {
        return refuse(FT_EINVAL, why, whylen, "it is larger than %zu bytes", WIRE_MAX_RULE_PACK);
    }
    if (wire_pack_verify(text, len, sig, key) != FT_OK) {
        return refuse(FT_EBADSIG, why, whylen,
                      "its signature does not verify with the hub's signing key (changed on the "
                      "way, or signed by another hub)");
    }
    char path[4096];
    if (fsutil_join(path, sizeof path, state, PACKFILE_NAME) != FT_OK) {
        return refuse(FT_EINVAL, why, whylen, "the state directory's path is too long");
    }
    size_t n = 0;
    char *want = compose(text, len, sig, key, &n);
    if (!want) {
        return refuse(FT_ENOMEM, why, whylen, "%s", ft_strerror(FT_ENOMEM));
    }
    char *have = NULL;
    size_t have_len = 0;
    int err = FT_OK;
    if (fsutil_read_all(path, &have, &have_len) != FT_OK || have_len != n ||
        memcmp(have, want, n) != 0) {
        err = fsutil_write_atomic(path, want, n, 0600);
        *changed = err == FT_OK;
        if (err != FT_OK) {
            (void)refuse(err, why, whylen, "cannot write %s: %s", path, ft_strerror(err));
        }
    }
    free(have);
    free(want);
    return err;
}

/* The value of "# NAME: HEX\n" at *p into out (n bytes); advances *p. */
static bool header(const char **p, const char *name, uint8_t *out, size_t n)
{
    char prefix[16], hex[129];
    int k = snprintf(prefix, sizeof prefix, "# %s: ", name);
    if (strncmp(*p, prefix, (size_t)k) != 0) {
        return false;
    }
    const char *v = *p + k;
    const char *nl = strchr(v, '\n');
    if (!nl || (size_t)(nl - v) != 2 * n) {
        return false;
    }
    memcpy(hex, v, 2 * n);
    hex[2 * n] = '\0';
    *p = nl + 1;
    return hex_decode(hex, out, n) == FT_OK;
}

int packfile_read(const char *state, const uint8_t want_key[32], char **text)
{
    *text = NULL;
    char path[4096];
    if (fsutil_join(path, sizeof path, state, PACKFILE_NAME) != FT_OK) {
        return FT_EINVAL;
    }
    char *buf = NULL;
    size_t len = 0;
    int err = fsutil_read_all(path, &buf, &len);
    if (err != FT_OK) {
        return err;
    }
    const char *p = buf;
    uint8_t key[32], sig[64];
    if (strncmp(p, HEAD, strlen(HEAD)) != 0) {
        err = FT_ECORRUPT;
    } else {
        p += strlen(HEAD);
        if (!header(&p, "key", key, 32) || !header(&p, "sig", sig, 64)) {
            err = FT_ECORRUPT;
        }
    }
    size_t body = err == FT_OK ? len - (size_t)(p - buf) : 0;
    if (err == FT_OK && (wire_pack_verify((const uint8_t *)p, body, sig, key) != FT_OK ||
                         sodium_memcmp(key, want_key, 32) != 0)) {
        err = FT_EBADSIG;
    }
    if (err == FT_OK) {
        *text = malloc(body + 1);
        if (!*text) {
            err = FT_ENOMEM;
        } else {
            memcpy(*text, p, body);
            (*text)[body] = '\0';
        }
    }
    free(buf);
    return err;
}
