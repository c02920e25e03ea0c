/* bundlefmt.c: manifest signatures, frames, bundle sources (directory or
 * ustar) and the ustar writer (bundlefmt.h). */
#include "bundlefmt.h"
#include "keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAR_BLOCK 512

void bundle_manifest_hash(const char *domain, const uint8_t *bytes, size_t len,
                          uint8_t out[BUNDLE_HASH_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, BUNDLE_HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
    crypto_generichash_update(&st, bytes, len);
    crypto_generichash_final(&st, out, BUNDLE_HASH_BYTES);
}

int bundle_sign(const char *domain, const uint8_t *bytes, size_t len, const uint8_t sign_sk[64],
                char sig_hex[BUNDLE_SIG_HEX])
{
    uint8_t h[BUNDLE_HASH_BYTES], sig[64];
    bundle_manifest_hash(domain, bytes, len, h);
    if (crypto_sign_detached(sig, NULL, h, sizeof h, sign_sk) != 0) {
        return FT_ECRYPTO;
    }
    hex_encode(sig, sizeof sig, sig_hex);
    return FT_OK;
}

int bundle_sig_check(const char *domain, const uint8_t *bytes, size_t len,
                     const uint8_t sign_pk[32], const char *sig_text, size_t sig_len)
{
    char hex[BUNDLE_SIG_HEX];
    size_t a = 0, b = sig_len;
    while (a < b && strchr(" \t\r\n", sig_text[a])) {
        a++;
    }
    while (b > a && strchr(" \t\r\n", sig_text[b - 1])) {
        b--;
    }
    if (b - a != 128) {
        return FT_EINVAL;
    }
    memcpy(hex, sig_text + a, 128);
    hex[128] = '\0';
    uint8_t sig[64], h[BUNDLE_HASH_BYTES];
    if (hex_decode(hex, sig, sizeof sig) != FT_OK) {
        return FT_EINVAL;
    }
    bundle_manifest_hash(domain, bytes, len, h);
    return crypto_sign_verify_detached(sig, h, sizeof h, sign_pk) == 0 ? FT_OK : FT_EBADSIG;
}

int bframe_write(FILE *f, const uint8_t *p, size_t n)
{
    uint8_t h[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    if (n > UINT32_MAX || fwrite(h, 1, 4, f) != 4 || (n && fwrite(p, 1, n, f) != n)) {
        return FT_EIO;
    }
    return FT_OK;
}

int bframe_next(bframe_reader_t *r, const uint8_t **p, size_t *n)
{
    if (r->off == r->n) {
        return 0;
    }
    if (r->n - r->off < 4) {
        return FT_ECORRUPT;
    }
    const uint8_t *h = r->p + r->off;
    size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (r->n - r->off - 4 < len) {
        return FT_ECORRUPT;
    }
    *p = h + 4;
    *n = len;
    r->off += 4 + len;
    return 1;
}

bool bundle_path_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > BUNDLE_PATH_MAX || name[0] == '/' || name[n - 1] == '/') {
        return false;
    }
    const char *c = name;
    while (*c) {
        const char *slash = strchr(c, '/');
        size_t len = slash ? (size_t)(slash - c) : strlen(c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
            return false;
        }
        c += len + (slash ? 1 : 0);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || name[i] == '\\') {
            return false;
        }
    }
    return true;
}

/* ---- sources ------------------------------------------------------------ */

typedef struct {
    char *name;
    uint64_t size;
    uint64_t off; /* tar: offset of the data in the tar file */
} bfile_t;

struct bsrc_t {
    char *root; /* directory, or NULL for a tar */
    int tar_fd; /* tar file, or -1 */
    bfile_t *files;
    size_t n, cap;
};

static int add_file(bsrc_t *s, const char *name, uint64_t size, uint64_t off)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        bfile_t *f = realloc(s->files, cap * sizeof *f);
        if (!f) {
            return FT_ENOMEM;
        }
        s->files = f;
        s->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        return FT_ENOMEM;
    }
    s->files[s->n++] = (bfile_t){.name = copy, .size = size, .off = off};
    return FT_OK;
}

/* Lists regular files under root/rel (rel "" at the top). */
static int walk_dir(bsrc_t *s, const char *rel, int depth)
{
    char path[4096];
    if (depth > 16) {
        return FT_OK;
    }
    snprintf(path, sizeof path, "%s%s%s", s->root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) {
        return FT_EIO;
    }
    int err = FT_OK;
    struct dirent *de;
    while (err == FT_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        char sub[2048], full[4096 + 256];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >=
            sizeof sub) {
            continue;
        }
        snprintf(full, sizeof full, "%s/%s", s->root, sub);
        struct stat st;
        if (lstat(full, &st) != 0) {
            err = FT_EIO;
        } else if (S_ISDIR(st.st_mode)) {
            err = walk_dir(s, sub, depth + 1);
        } else {
            /* Symlinks and other non-regular files are listed too, so that
             * the verifier reports them as added; their size is 0. */
            err = add_file(s, sub, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0, 0);
        }
    }
    closedir(d);
    return err;
}

static uint64_t octal(const char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && p[i]; i++) {
        if (p[i] == ' ') {
            continue;
        }
        if (p[i] < '0' || p[i] > '7') {
            break;
        }
        v = v * 8 + (uint64_t)(p[i] - '0');
    }
    return v;
}

static int read_tar(bsrc_t *s)
{
    struct stat st;
    if (fstat(s->tar_fd, &st) != 0) {
        return FT_EIO;
    }
    uint64_t total = (uint64_t)st.st_size, off = 0;
    char h[TAR_BLOCK];
    while (off + TAR_BLOCK <= total) {
        if (pread(s->tar_fd, h, TAR_BLOCK, (off_t)off) != TAR_BLOCK) {
            return FT_EIO;
        }
        bool zero = true;
        for (size_t i = 0; i < TAR_BLOCK && zero; i++) {
            zero = h[i] == 0;
        }
        if (zero) {
            return FT_OK;
        }
        unsigned sum = 0;
        for (size_t i = 0; i < TAR_BLOCK; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)h[i];
        }
        if (sum != octal(h + 148, 8)) {
            return FT_ECORRUPT;
        }
        uint64_t size = octal(h + 124, 12);
        char name[260];
        char prefix[156], base[101];
        memcpy(prefix, h + 345, 155);
        prefix[155] = '\0';
        memcpy(base, h, 100);
        base[100] = '\0';
        if (prefix[0]) {
            snprintf(name, sizeof name, "%s/%s", prefix, base);
        } else {
            snprintf(name, sizeof name, "%s", base);
        }
        char type = h[156];
        uint64_t data = off + TAR_BLOCK;
        if (data + size > total) {
            return FT_ECORRUPT;
        }
        if (type == '0' || type == '\0') {
            int err = add_file(s, name, size, data);
            if (err != FT_OK) {
                return err;
            }
        } else if (type != '5') {
            /* Anything else (links, devices, extended headers) is listed so
             * that it is reported as added. */
            int err = add_file(s, name, 0, data);
            if (err != FT_OK) {
                return err;
            }
        }
        off = data + (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
    }
    return FT_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const bfile_t *)a)->name, ((const bfile_t *)b)->name);
}

int bsrc_open(const char *path, bsrc_t **out)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        return errno == ENOENT ? FT_ENOTFOUND : FT_EIO;
    }
    bsrc_t *s = calloc(1, sizeof *s);
    if (!s) {
        return FT_ENOMEM;
    }
    s->tar_fd = -1;
    int err;
    if (S_ISDIR(st.st_mode)) {
        s->root = strdup(path);
        err = s->root ? walk_dir(s, "", 0) : FT_ENOMEM;
    } else {
        s->tar_fd = open(path, O_RDONLY | O_CLOEXEC);
        err = s->tar_fd >= 0 ? read_tar(s) : FT_EIO;
    }
    if (err != FT_OK) {
        bsrc_destroy(&s);
        return err;
    }
    qsort(s->files, s->n, sizeof *s->files, name_cmp);
    *out = s;
    return FT_OK;
}

void bsrc_destroy(bsrc_t **s_p)
{
    bsrc_t *s = *s_p;
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->files[i].name);
    }
    free(s->files);
    free(s->root);
    if (s->tar_fd >= 0) {
        close(s->tar_fd);
    }
    free(s);
    *s_p = NULL;
}

size_t bsrc_count(const bsrc_t *s)
{
    return s->n;
}

const char *bsrc_name(const bsrc_t *s, size_t i)
{
    return s->files[i].name;
}

uint64_t bsrc_size(const bsrc_t *s, size_t i)
{
    return s->files[i].size;
}

long bsrc_find(const bsrc_t *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->files[mid].name, name);
        if (c == 0) {
            return (long)mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

/* Opens file i for reading at its base offset: fd (to close if *own) and base. */
static int open_file(const bsrc_t *s, size_t i, int *fd, bool *own, uint64_t *base)
{
    if (s->tar_fd >= 0) {
        *fd = s->tar_fd;
        *own = false;
        *base = s->files[i].off;
        return FT_OK;
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", s->root, s->files[i].name) >= sizeof path) {
        return FT_EIO;
    }
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    *own = true;
    *base = 0;
    return *fd >= 0 ? FT_OK : FT_EIO;
}

int bsrc_pread(const bsrc_t *s, size_t i, uint64_t off, void *buf, size_t len)
{
    int fd;
    bool own;
    uint64_t base;
    if (off + len > s->files[i].size) {
        return FT_EIO;
    }
    int err = open_file(s, i, &fd, &own, &base);
    if (err != FT_OK) {
        return err;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, (uint8_t *)buf + got, len - got, (off_t)(base + off + got));
        if (r <= 0) {
            err = FT_EIO;
            break;
        }
        got += (size_t)r;
    }
    if (own) {
        close(fd);
    }
    return err;
}

int bsrc_read(const bsrc_t *s, const char *name, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    long i = bsrc_find(s, name);
    if (i < 0) {
        return FT_ENOTFOUND;
    }
    uint64_t size = s->files[i].size;
    if (size > BUNDLE_MAX_READ) {
        return FT_EINVAL;
    }
    uint8_t *b = malloc((size_t)size + 1);
    if (!b) {
        return FT_ENOMEM;
    }
    int err = bsrc_pread(s, (size_t)i, 0, b, (size_t)size);
    if (err != FT_OK) {
        free(b);
        return err;
    }
    b[size] = '\0';
    *buf = b;
    *len = (size_t)size;
    return FT_OK;
}

int bsrc_hash(const bsrc_t *s, size_t i, uint8_t out[BUNDLE_HASH_BYTES])
{
    int fd;
    bool own;
    uint64_t base;
    int err = open_file(s, i, &fd, &own, &base);
    if (err != FT_OK) {
        return err;
    }
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, BUNDLE_HASH_BYTES);
    size_t bufsz = 1 << 20;
    uint8_t *buf = malloc(bufsz);
    uint64_t done = 0, size = s->files[i].size;
    err = buf ? FT_OK : FT_ENOMEM;
    while (err == FT_OK && done < size) {
        size_t want = size - done < bufsz ? (size_t)(size - done) : bufsz;
        ssize_t r = pread(fd, buf, want, (off_t)(base + done));
        if (r <= 0) {
            err = FT_EIO;
            break;
        }
        crypto_generichash_update(&st, buf, (size_t)r);
        done += (uint64_t)r;
    }
    free(buf);
    if (own) {
        close(fd);
    }
    crypto_generichash_final(&st, out, BUNDLE_HASH_BYTES);
    return err;
}

int bundle_hash_file(const char *path, uint8_t out[BUNDLE_HASH_BYTES], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return FT_EIO;
    }
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, BUNDLE_HASH_BYTES);
    size_t bufsz = 1 << 20;
    uint8_t *buf = malloc(bufsz);
    int err = buf ? FT_OK : FT_ENOMEM;
    uint64_t total = 0;
    while (err == FT_OK) {
        ssize_t r = read(fd, buf, bufsz);
        if (r < 0) {
            err = FT_EIO;
        } else if (r == 0) {
            break;
        } else {
            crypto_generichash_update(&st, buf, (size_t)r);
            total += (uint64_t)r;
        }
    }
    free(buf);
    close(fd);
    crypto_generichash_final(&st, out, BUNDLE_HASH_BYTES);
    if (size) {
        *size = total;
    }
    return err;
}

/* ---- ustar writer ----------------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) {
            return errno == ENOSPC ? FT_EFULL : FT_EIO;
        }
        b += w;
        n -= (size_t)w;
    }
    return FT_OK;
}

static int tar_header(char h[TAR_BLOCK], const char *name, uint64_t size)
{
    memset(h, 0, TAR_BLOCK);
    size_t n = strlen(name);
    if (n <= 100) {
        memcpy(h, name, n);
    } else {
        /* Split at a '/' so that the prefix fits 155 and the rest 100. */
        const char *cut = NULL;
        for (const char *p = name; *p; p++) {
            if (*p == '/' && (size_t)(p - name) <= 155 && strlen(p + 1) <= 100) {
                cut = p;
                break;
            }
        }
        if (!cut) {
            return FT_EINVAL;
        }
        memcpy(h + 345, name, (size_t)(cut - name));
        memcpy(h, cut + 1, strlen(cut + 1));
    }
    snprintf(h + 100, 8, "%07o", 0444);
    snprintf(h + 108, 8, "%07o", 0);
    snprintf(h + 116, 8, "%07o", 0);
    snprintf(h + 124, 12, "%011llo", (unsigned long long)size);
    snprintf(h + 136, 12, "%011o", 0);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++) {
        sum += (unsigned char)h[i];
    }
    snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return FT_OK;
}

int btar_write(const char *tar_path, const char *dir, const char *const *names, size_t n)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.part", tar_path) >= sizeof tmp) {
        return FT_EINVAL;
    }
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        return FT_EIO;
    }
    int err = FT_OK;
    size_t bufsz = 1 << 20;
    uint8_t *buf = malloc(bufsz);
    if (!buf) {
        err = FT_ENOMEM;
    }
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int in = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (in < 0 || fstat(in, &st) != 0) {
            if (in >= 0) {
                close(in);
            }
            err = FT_EIO;
            break;
        }
        char h[TAR_BLOCK];
        err = tar_header(h, names[i], (uint64_t)st.st_size);
        if (err == FT_OK) {
            err = write_all(out, h, TAR_BLOCK);
        }
        uint64_t done = 0;
        while (err == FT_OK && done < (uint64_t)st.st_size) {
            ssize_t r = read(in, buf, bufsz);
            if (r <= 0) {
                err = FT_EIO;
                break;
            }
            err = write_all(out, buf, (size_t)r);
            done += (uint64_t)r;
        }
        close(in);
        size_t pad = (size_t)((TAR_BLOCK - done % TAR_BLOCK) % TAR_BLOCK);
        if (err == FT_OK && pad) {
            memset(h, 0, sizeof h);
            err = write_all(out, h, pad);
        }
    }
    if (err == FT_OK) {
        memset(buf, 0, 2 * TAR_BLOCK);
        err = write_all(out, buf, 2 * TAR_BLOCK);
    }
    free(buf);
    if (err == FT_OK && fsync(out) != 0) {
        err = FT_EIO;
    }
    close(out);
    if (err == FT_OK && rename(tmp, tar_path) != 0) {
        err = FT_EIO;
    }
    if (err != FT_OK) {
        unlink(tmp);
    }
    return err;
}
