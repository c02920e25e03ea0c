/* keys.c: key generation, key files, device IDs.
 *
 * Invariants: a loaded keys_t always has public keys that match its secrets
 * (keys_load checks), so a hand-edited key file cannot make a device sign
 * under one identity and present another.
 */
#include "keys.h"
#include "fsutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int keys_generate(keys_t *k, bool with_archive)
{
    if (sodium_init() < 0) {
        return FT_ECRYPTO;
    }
    memset(k, 0, sizeof *k);
    if (crypto_sign_ed25519_keypair(k->sign_pk, k->sign_sk) != 0 ||
        crypto_box_keypair(k->box_pk, k->box_sk) != 0) {
        return FT_ECRYPTO;
    }
    if (with_archive) {
        if (crypto_box_keypair(k->archive_pk, k->archive_sk) != 0) {
            return FT_ECRYPTO;
        }
        k->has_archive = true;
    }
    return FT_OK;
}

void keys_wipe(keys_t *k)
{
    sodium_memzero(k, sizeof *k);
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, in, n);
}

int hex_decode(const char *in, uint8_t *out, size_t n)
{
    size_t got = 0;
    const char *end = NULL;
    if (strlen(in) != 2 * n) {
        return FT_EINVAL;
    }
    if (sodium_hex2bin(out, n, in, 2 * n, NULL, &got, &end) != 0 || got != n) {
        return FT_EINVAL;
    }
    return FT_OK;
}

/* Appends "name = hex" to buf at *off. */
static void put_line(char *buf, size_t cap, size_t *off, const char *name, const uint8_t *v,
                     size_t n)
{
    char hex[KEY_HEX_SIZE];
    hex_encode(v, n, hex);
    *off += (size_t)snprintf(buf + *off, cap - *off, "%s = %s\n", name, hex);
    sodium_memzero(hex, sizeof hex);
}

static int write_keys(const keys_t *k, const char *path, bool secret)
{
    char buf[2048];
    size_t off = 0;
    char id_text[DEVID_TEXT_SIZE];
    uint8_t id[DEVID_BYTES];
    devid_from_pk(k->sign_pk, id);
    devid_format(id, id_text);
    off += (size_t)snprintf(buf + off, sizeof buf - off, "# fieldtrail %s keys%s\ndevice_id = %s\n",
                            secret ? "secret" : "public",
                            secret ? ": keep this file private (mode 0600)" : "", id_text);
    put_line(buf, sizeof buf, &off, "sign_public", k->sign_pk, 32);
    put_line(buf, sizeof buf, &off, "transport_public", k->box_pk, 32);
    if (k->has_archive) {
        put_line(buf, sizeof buf, &off, "archive_public", k->archive_pk, 32);
    }
    if (secret) {
        put_line(buf, sizeof buf, &off, "sign_secret", k->sign_sk, 64);
        put_line(buf, sizeof buf, &off, "transport_secret", k->box_sk, 32);
        if (k->has_archive) {
            put_line(buf, sizeof buf, &off, "archive_secret", k->archive_sk, 32);
        }
    }
    int err = fsutil_write_atomic(path, buf, off, secret ? 0600 : 0644);
    sodium_memzero(buf, sizeof buf);
    return err;
}

int keys_save(const keys_t *k, const char *path)
{
    return write_keys(k, path, true);
}

int keys_save_public(const keys_t *k, const char *path)
{
    return write_keys(k, path, false);
}

/* Which fields a key file provided. */
enum {
    HAVE_SIGN_PK = 1,
    HAVE_SIGN_SK = 2,
    HAVE_BOX_PK = 4,
    HAVE_BOX_SK = 8,
    HAVE_ARCH_PK = 16,
    HAVE_ARCH_SK = 32
};

static int parse_line(keys_t *k, char *line, unsigned *have)
{
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    if (*line == '#' || *line == '\0') {
        return FT_OK;
    }
    char *eq = strchr(line, '=');
    if (!eq) {
        return FT_EKEY;
    }
    char *name_end = eq;
    while (name_end > line && (name_end[-1] == ' ' || name_end[-1] == '\t')) {
        name_end--;
    }
    *name_end = '\0';
    char *val = eq + 1;
    while (*val == ' ' || *val == '\t') {
        val++;
    }
    size_t vl = strlen(val);
    while (vl > 0 && (val[vl - 1] == ' ' || val[vl - 1] == '\r' || val[vl - 1] == '\t')) {
        val[--vl] = '\0';
    }
    struct {
        const char *name;
        uint8_t *dst;
        size_t n;
        unsigned bit;
    } fields[] = {
        {"sign_public", k->sign_pk, 32, HAVE_SIGN_PK},
        {"sign_secret", k->sign_sk, 64, HAVE_SIGN_SK},
        {"transport_public", k->box_pk, 32, HAVE_BOX_PK},
        {"transport_secret", k->box_sk, 32, HAVE_BOX_SK},
        {"archive_public", k->archive_pk, 32, HAVE_ARCH_PK},
        {"archive_secret", k->archive_sk, 32, HAVE_ARCH_SK},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(line, fields[i].name) == 0) {
            if (hex_decode(val, fields[i].dst, fields[i].n) != FT_OK) {
                return FT_EKEY;
            }
            *have |= fields[i].bit;
            return FT_OK;
        }
    }
    return FT_OK; /* device_id and unknown names are informational */
}

int keys_load(keys_t *k, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int err = fsutil_read_all(path, &text, &len);
    if (err != FT_OK) {
        return err == FT_ENOTFOUND ? FT_ENOTFOUND : FT_EKEY;
    }
    if (sodium_init() < 0) {
        err = FT_ECRYPTO;
        goto out;
    }
    memset(k, 0, sizeof *k);
    unsigned have = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        err = parse_line(k, line, &have);
        if (err != FT_OK) {
            goto out;
        }
    }
    unsigned need = HAVE_SIGN_PK | HAVE_SIGN_SK | HAVE_BOX_PK | HAVE_BOX_SK;
    if ((have & need) != need) {
        err = FT_EKEY;
        goto out;
    }
    uint8_t check[32];
    crypto_sign_ed25519_sk_to_pk(check, k->sign_sk);
    if (sodium_memcmp(check, k->sign_pk, 32) != 0) {
        err = FT_EKEY;
        goto out;
    }
    crypto_scalarmult_base(check, k->box_sk);
    if (sodium_memcmp(check, k->box_pk, 32) != 0) {
        err = FT_EKEY;
        goto out;
    }
    if (have & HAVE_ARCH_SK) {
        crypto_scalarmult_base(check, k->archive_sk);
        if (!(have & HAVE_ARCH_PK) || sodium_memcmp(check, k->archive_pk, 32) != 0) {
            err = FT_EKEY;
            goto out;
        }
        k->has_archive = true;
    }
    err = FT_OK;
out:
    if (err != FT_OK) {
        keys_wipe(k);
    }
    sodium_memzero(text, len);
    free(text);
    return err;
}

void devid_from_pk(const uint8_t pk[32], uint8_t id[DEVID_BYTES])
{
    static const char domain[] = "fieldtrail-device-id";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, DEVID_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, sizeof domain - 1);
    crypto_generichash_update(&st, pk, 32);
    crypto_generichash_final(&st, id, DEVID_BYTES);
}

/* 20 check bits over the ID, as 4 base32 symbols. A process sees few
 * device IDs and formats them again and again (every reference the gap
 * engine names, docs/benchmarks.md): the last ones are kept per thread,
 * so that the hash runs once per ID and slot. */
static void devid_check(const uint8_t id[DEVID_BYTES], char out[4])
{
    static _Thread_local struct {
        uint8_t id[DEVID_BYTES];
        char check[4];
        bool set;
    } seen[16];
    unsigned slot = (unsigned)(id[0] ^ id[DEVID_BYTES - 1]) & 15u;
    if (seen[slot].set && memcmp(seen[slot].id, id, DEVID_BYTES) == 0) {
        memcpy(out, seen[slot].check, 4);
        return;
    }
    uint8_t h[16];
    crypto_generichash(h, sizeof h, id, DEVID_BYTES, (const uint8_t *)"ftchk", 5);
    uint32_t v = ((uint32_t)h[0] << 12) | ((uint32_t)h[1] << 4) | (h[2] >> 4);
    for (int i = 3; i >= 0; i--) {
        out[i] = crockford[v & 31];
        v >>= 5;
    }
    memcpy(seen[slot].id, id, DEVID_BYTES);
    memcpy(seen[slot].check, out, 4);
    seen[slot].set = true;
}

void devid_format(const uint8_t id[DEVID_BYTES], char out[DEVID_TEXT_SIZE])
{
    char sym[20];
    /* 80 bits -> 16 symbols of 5 bits. */
    for (int i = 0; i < 16; i++) {
        int bit = i * 5;
        int byte = bit / 8, shift = bit % 8;
        unsigned v = (unsigned)id[byte] << 8;
        if (byte + 1 < DEVID_BYTES) {
            v |= id[byte + 1];
        }
        sym[i] = crockford[(v >> (11 - shift)) & 31];
    }
    devid_check(id, sym + 16);
    int o = 0;
    for (int i = 0; i < 20; i++) {
        if (i > 0 && i % 4 == 0) {
            out[o++] = '-';
        }
        out[o++] = sym[i];
    }
    out[o] = '\0';
}

/* Value of a Crockford symbol, forgiving case and O/I/L; -1 if invalid. */
static int symbol_value(char c)
{
    if (c >= 'a' && c <= 'z') {
        c = (char)(c - 'a' + 'A');
    }
    if (c == 'O') {
        c = '0';
    }
    if (c == 'I' || c == 'L') {
        c = '1';
    }
    const char *p = c ? strchr(crockford, c) : NULL;
    return p ? (int)(p - crockford) : -1;
}

int devid_parse(const char *text, uint8_t id[DEVID_BYTES])
{
    int vals[20];
    int n = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '-' || *p == ' ') {
            continue;
        }
        int v = symbol_value(*p);
        if (v < 0 || n >= 20) {
            return FT_EINVAL;
        }
        vals[n++] = v;
    }
    if (n != 20) {
        return FT_EINVAL;
    }
    memset(id, 0, DEVID_BYTES);
    for (int i = 0; i < 16; i++) {
        for (int b = 0; b < 5; b++) {
            int bit = i * 5 + b;
            if (vals[i] & (16 >> b)) {
                id[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
            }
        }
    }
    char check[4];
    devid_check(id, check);
    for (int i = 0; i < 4; i++) {
        if (crockford[vals[16 + i]] != check[i]) {
            return FT_EINVAL;
        }
    }
    return FT_OK;
}
