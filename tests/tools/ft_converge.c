/* ft_converge.c: the convergence checker. After any scenario (faults, kills,
 * soak, scale), it compares each edge's state with the hub's and prints a
 * one-line verdict:
 *
 *   converge: OK edges=3 entries=30000 records=30000 media=2 bytes=8388608 hub_entries=30000
 *   converge: FAIL edges=3 entries=30000 missing=12 differ=0 ... (and the first problems)
 *
 * Usage: ft_converge [--no-media] [--exact] HUB_STATE EDGE_STATE...
 *
 * What "converged" means (the claim: nothing recorded is lost or silently
 * changed):
 *   - each edge's own log verifies (devlog_verify: dense seqs, signatures,
 *     chain) - the edge is the reference;
 *   - the hub holds every entry of the edge's epoch, 1..edge head, exactly
 *     once (one stored value per seq, and the hub's head for that epoch is
 *     the edge's head: nothing missing, nothing extra) with bytes identical
 *     to the edge's;
 *   - the hub's copy verifies on its own: decodes, signed by the enrolled key
 *     of the device, dense, chained from seq 1;
 *   - no record `id` appears twice in one device's log at the hub;
 *   - every media manifest of the edge's log has its blob at the hub
 *     (blob ID = Merkle root), each stored chunk hashes to the manifest's
 *     chunk hash at its position, the Merkle root matches, and the blob
 *     decrypted with the hub's archive key has the manifest's content hash
 *     (the plaintext is byte-identical to the file the edge ingested); where
 *     the edge still holds the chunks, they are byte-identical to the hub's;
 *   - with --exact, the hub holds no entries beyond those of the given edges
 *     (hub_entries equals entries).
 * --no-media skips the media checks (media=0 then).
 *
 * It opens the LMDB environments of the state directories itself (the
 * daemons may be running; LMDB readers never block them) and reads the
 * hub's blob store through hub/media/blobstore.h. Exit 0 OK, 1 FAIL, 2 usage.
 */
#include "blobstore.h"
#include "devlog.h"
#include "entry.h"
#include "fsutil.h"
#include "keys.h"
#include "media.h"
#include "store.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROBLEMS_SHOWN 10

/* Counts over the whole run. */
typedef struct {
    unsigned edges;
    uint64_t entries;       /* edge entries checked */
    uint64_t records;       /* of which records */
    uint64_t hub_entries;   /* entries the hub holds in total */
    uint64_t missing;       /* edge entries the hub lacks */
    uint64_t extra;         /* hub entries beyond an edge's head */
    uint64_t differ;        /* hub bytes differ from the edge's */
    uint64_t hub_bad;       /* hub entries that do not verify */
    uint64_t edge_bad;      /* edges whose own log does not verify */
    uint64_t dup_ids;       /* record ids seen twice at the hub for one device */
    uint64_t media;         /* media files checked and identical */
    uint64_t media_bytes;   /* their plaintext bytes */
    uint64_t media_missing; /* manifests whose blob the hub lacks */
    uint64_t media_bad;     /* blobs that do not match their manifest */
    uint64_t problems;      /* problem lines printed or suppressed */
} tally_t;

static tally_t tally;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
    tally.problems++;
    if (tally.problems > MAX_PROBLEMS_SHOWN) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("converge: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* A media manifest found in an edge's log (copied out of the entry). */
typedef struct {
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint64_t size;
    uint32_t chunk_size;
    uint32_t n_chunks;
    uint8_t (*hashes)[MEDIA_HASH_BYTES];
    uint8_t root[MEDIA_HASH_BYTES];
    uint8_t content[MEDIA_HASH_BYTES];
    uint8_t *sealed_key;
    size_t sealed_len;
    uint64_t seq;
} manifest_t;

/* One edge being compared. */
typedef struct {
    const char *dir;
    uint8_t device[DEVID_BYTES];
    char devtext[DEVID_TEXT_SIZE];
    uint64_t epoch;
    store_txn_t *hub; /* read txn on the hub store */
    uint8_t sign_pk[32];
    entry_pos_t pos; /* hub-side chain walk, advanced with each entry */
    manifest_t *mf;
    size_t n_mf, cap_mf;
    char **ids; /* record ids seen, for duplicates */
    size_t n_ids, cap_ids;
    MDB_env *env; /* the edge's LMDB, for its media chunks */
} edge_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void keep_manifest(edge_t *e, uint64_t seq, const Ft__MediaManifest *m)
{
    if (m->file_id.len != MEDIA_FILE_ID_BYTES || m->merkle_root.len != MEDIA_HASH_BYTES ||
        m->content_hash.len != MEDIA_HASH_BYTES || m->n_chunk_hashes == 0) {
        problem("%s seq %llu: media manifest is malformed", e->devtext, (unsigned long long)seq);
        tally.media_bad++;
        return;
    }
    if (e->n_mf == e->cap_mf) {
        e->cap_mf = e->cap_mf ? 2 * e->cap_mf : 16;
        e->mf = realloc(e->mf, e->cap_mf * sizeof *e->mf);
        if (!e->mf) {
            abort();
        }
    }
    manifest_t *f = &e->mf[e->n_mf++];
    memset(f, 0, sizeof *f);
    memcpy(f->file_id, m->file_id.data, MEDIA_FILE_ID_BYTES);
    memcpy(f->root, m->merkle_root.data, MEDIA_HASH_BYTES);
    memcpy(f->content, m->content_hash.data, MEDIA_HASH_BYTES);
    f->size = m->size;
    f->chunk_size = m->chunk_size;
    f->n_chunks = (uint32_t)m->n_chunk_hashes;
    f->seq = seq;
    f->hashes = calloc(f->n_chunks, MEDIA_HASH_BYTES);
    f->sealed_key = malloc(m->sealed_key.len + 1);
    if (!f->hashes || !f->sealed_key) {
        abort();
    }
    for (uint32_t i = 0; i < f->n_chunks; i++) {
        if (m->chunk_hashes[i].len == MEDIA_HASH_BYTES) {
            memcpy(f->hashes[i], m->chunk_hashes[i].data, MEDIA_HASH_BYTES);
        }
    }
    memcpy(f->sealed_key, m->sealed_key.data, m->sealed_key.len);
    f->sealed_len = m->sealed_key.len;
}

/* Each edge entry: compare with the hub's, check the hub's copy, note
 * records and manifests. */
static int on_edge_entry(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    edge_t *e = ctx;
    tally.entries++;
    const uint8_t *hraw = NULL;
    size_t hlen = 0;
    int err = store_entry_get(e->hub, e->device, e->epoch, seq, &hraw, &hlen);
    if (err != FT_OK) {
        tally.missing++;
        problem("%s seq %llu: not at the hub", e->devtext, (unsigned long long)seq);
        return 0;
    }
    if (hlen != len || memcmp(hraw, raw, len) != 0) {
        tally.differ++;
        problem("%s seq %llu: the hub's bytes differ from the edge's (%zu vs %zu bytes)",
                e->devtext, (unsigned long long)seq, hlen, len);
    }
    entry_view_t v;
    memset(&v, 0, sizeof v);
    err = entry_open(hraw, hlen, &v);
    if (err == FT_OK) {
        err = entry_check(&v, e->sign_pk, &e->pos);
    }
    if (err != FT_OK) {
        tally.hub_bad++;
        problem("%s seq %llu: the hub's copy does not verify: %s", e->devtext,
                (unsigned long long)seq, ft_strerror(err));
        entry_view_free(&v);
        return 0;
    }
    entry_pos_advance(&e->pos, &v);
    const Ft__Body *b = v.entry->body;
    if (b && b->kind_case == FT__BODY__KIND_RECORD && b->record) {
        tally.records++;
        const char *id = b->record->id;
        if (id && *id) {
            if (e->n_ids == e->cap_ids) {
                e->cap_ids = e->cap_ids ? 2 * e->cap_ids : 1024;
                e->ids = realloc(e->ids, e->cap_ids * sizeof *e->ids);
                if (!e->ids) {
                    abort();
                }
            }
            e->ids[e->n_ids] = strdup(id);
            if (!e->ids[e->n_ids]) {
                abort();
            }
            e->n_ids++;
        }
    } else if (b && b->kind_case == FT__BODY__KIND_MEDIA && b->media) {
        keep_manifest(e, seq, b->media);
    }
    entry_view_free(&v);
    return 0;
}

/* The edge's stored chunk (file_id, index), or NULL. Borrowed from txn. */
static const uint8_t *edge_chunk(MDB_txn *txn, MDB_dbi dbi, const uint8_t *file_id, uint32_t index,
                                 size_t *len)
{
    uint8_t k[MEDIA_FILE_ID_BYTES + 4];
    memcpy(k, file_id, MEDIA_FILE_ID_BYTES);
    k[16] = (uint8_t)(index >> 24);
    k[17] = (uint8_t)(index >> 16);
    k[18] = (uint8_t)(index >> 8);
    k[19] = (uint8_t)index;
    MDB_val key = {sizeof k, k}, val;
    if (mdb_get(txn, dbi, &key, &val) != 0) {
        return NULL;
    }
    *len = val.mv_size;
    return val.mv_data;
}

/* Checks one manifest's blob at the hub; true if identical. */
static bool check_media(edge_t *e, const manifest_t *f, blobstore_t *bs, const keys_t *hk,
                        MDB_txn *etxn, MDB_dbi edbi, bool have_edbi)
{
    char fid[2 * MEDIA_FILE_ID_BYTES + 1];
    hex_encode(f->file_id, MEDIA_FILE_ID_BYTES, fid);
    if (f->chunk_size < MEDIA_CHUNK_MIN || f->chunk_size > MEDIA_CHUNK_MAX ||
        media_chunk_count(f->size, f->chunk_size) != f->n_chunks) {
        problem("media %s (%s seq %llu): manifest sizes are inconsistent", fid, e->devtext,
                (unsigned long long)f->seq);
        tally.media_bad++;
        return false;
    }
    if (!blobstore_has(bs, f->root)) {
        problem("media %s (%s seq %llu): not at the hub", fid, e->devtext,
                (unsigned long long)f->seq);
        tally.media_missing++;
        return false;
    }
    int fd = blobstore_open_read(bs, f->root);
    if (fd < 0) {
        problem("media %s: cannot read its blob: %s", fid, ft_strerror(fd));
        tally.media_bad++;
        return false;
    }
    uint8_t key[MEDIA_KEY_BYTES];
    bool have_key = media_key_unseal(f->sealed_key, f->sealed_len, hk->archive_pk, hk->archive_sk,
                                     key) == FT_OK;
    if (!have_key) {
        problem("media %s: its key does not open with the hub's archive key", fid);
    }
    uint8_t *ct = malloc(f->chunk_size + MEDIA_TAG_BYTES), *pt = malloc(f->chunk_size);
    uint8_t(*got)[MEDIA_HASH_BYTES] = calloc(f->n_chunks, MEDIA_HASH_BYTES);
    if (!ct || !pt || !got) {
        abort();
    }
    media_content_t c;
    media_content_init(&c);
    bool ok = have_key;
    uint32_t edge_same = 0;
    for (uint32_t i = 0; ok && i < f->n_chunks; i++) {
        uint32_t plen = media_chunk_len(f->size, f->chunk_size, i);
        size_t clen = (size_t)plen + MEDIA_TAG_BYTES;
        off_t off = (off_t)((uint64_t)i * (f->chunk_size + MEDIA_TAG_BYTES));
        if (pread(fd, ct, clen, off) != (ssize_t)clen) {
            problem("media %s chunk %u: the hub's blob is short", fid, i);
            ok = false;
            break;
        }
        media_chunk_hash(f->file_id, i, ct, clen, got[i]);
        if (memcmp(got[i], f->hashes[i], MEDIA_HASH_BYTES) != 0) {
            problem("media %s chunk %u: hash differs from the signed manifest", fid, i);
            ok = false;
            break;
        }
        if (have_edbi) {
            size_t elen = 0;
            const uint8_t *ech = edge_chunk(etxn, edbi, f->file_id, i, &elen);
            if (ech) {
                if (elen != clen || memcmp(ech, ct, clen) != 0) {
                    problem("media %s chunk %u: the edge's chunk differs from the hub's", fid, i);
                    ok = false;
                    break;
                }
                edge_same++;
            }
        }
        if (media_chunk_decrypt(key, f->file_id, i, ct, clen, pt) != FT_OK) {
            problem("media %s chunk %u: does not decrypt", fid, i);
            ok = false;
            break;
        }
        media_content_update(&c, pt, plen);
    }
    uint8_t root[MEDIA_HASH_BYTES], content[MEDIA_HASH_BYTES];
    media_content_final(&c, content);
    if (ok &&
        (media_merkle_root((const uint8_t(*)[MEDIA_HASH_BYTES])got, f->n_chunks, root) != FT_OK ||
         memcmp(root, f->root, MEDIA_HASH_BYTES) != 0)) {
        problem("media %s: Merkle root differs from the signed manifest", fid);
        ok = false;
    }
    if (ok && memcmp(content, f->content, MEDIA_HASH_BYTES) != 0) {
        problem("media %s: decrypted content differs from what the edge ingested", fid);
        ok = false;
    }
    sodium_memzero(key, sizeof key);
    free(ct);
    free(pt);
    free(got);
    close(fd);
    if (!ok) {
        tally.media_bad++;
        return false;
    }
    (void)edge_same;
    tally.media++;
    tally.media_bytes += f->size;
    return true;
}

/* Loads the edge's keys and opens its log; fills e. FT_OK or an error (printed). */
static int edge_open(edge_t *e, keys_t *k, devlog_t **log)
{
    char path[4096];
    if (fsutil_join(path, sizeof path, e->dir, "device.key") != FT_OK ||
        keys_load(k, path) != FT_OK) {
        problem("%s: cannot load device.key", e->dir);
        return FT_EKEY;
    }
    if (fsutil_join(path, sizeof path, e->dir, "db/data.mdb") != FT_OK || !fsutil_exists(path)) {
        problem("%s: no log (db/data.mdb) in this state directory", e->dir);
        return FT_ENOTFOUND;
    }
    if (fsutil_join(path, sizeof path, e->dir, "db") != FT_OK) {
        return FT_EINVAL;
    }
    int err = devlog_open(path, k, NULL, log);
    if (err != FT_OK) {
        problem("%s: cannot open its log: %s", e->dir, ft_strerror(err));
        return err;
    }
    memcpy(e->device, devlog_device(*log), DEVID_BYTES);
    memcpy(e->sign_pk, k->sign_pk, 32);
    devid_format(e->device, e->devtext);
    e->epoch = devlog_epoch(*log);
    e->env = devlog_env(*log);
    return FT_OK;
}

static void check_edge(edge_t *e, store_t *hub, blobstore_t *bs, const keys_t *hk, bool media)
{
    keys_t k;
    devlog_t *log = NULL;
    tally.edges++;
    if (edge_open(e, &k, &log) != FT_OK) {
        tally.edge_bad++;
        keys_wipe(&k);
        return;
    }
    devlog_report_t rep;
    if (devlog_verify(log, 1, &rep) != FT_OK || rep.err != FT_OK) {
        tally.edge_bad++;
        problem("%s: the edge's own log does not verify at seq %llu: %s", e->devtext,
                (unsigned long long)rep.bad_seq, rep.detail);
    }
    uint64_t head = 0;
    uint8_t hh[ENTRY_HASH_BYTES];
    if (devlog_head(log, &head, hh) != FT_OK) {
        head = 0;
    }
    if (store_begin(hub, false, &e->hub) != FT_OK) {
        problem("cannot read the hub store");
        tally.missing += head;
        goto out;
    }
    store_device_t dev;
    if (store_device_get(e->hub, e->device, &dev) != FT_OK) {
        problem("%s (%s): not enrolled at the hub", e->devtext, e->dir);
        tally.missing += head;
        tally.entries += head;
        goto out;
    }
    memcpy(e->sign_pk, dev.sign_pk, 32);
    memcpy(e->pos.device, e->device, DEVID_BYTES);
    e->pos.epoch = e->epoch;
    e->pos.seq = 1;
    memset(e->pos.prev_hash, 0, ENTRY_HASH_BYTES);
    int err = devlog_iter(log, 1, 0, on_edge_entry, e);
    if (err != FT_OK) {
        problem("%s: reading its log failed: %s", e->devtext, ft_strerror(err));
        tally.edge_bad++;
    }
    store_head_t hh2;
    if (store_head_get(e->hub, e->device, e->epoch, &hh2) == FT_OK && hh2.seq > head) {
        tally.extra += hh2.seq - head;
        problem("%s: the hub holds %llu entries of epoch %llu, the edge only %llu", e->devtext,
                (unsigned long long)hh2.seq, (unsigned long long)e->epoch,
                (unsigned long long)head);
    }
    if (e->n_ids > 1) {
        qsort(e->ids, e->n_ids, sizeof *e->ids, cmp_str);
        for (size_t i = 1; i < e->n_ids; i++) {
            if (strcmp(e->ids[i], e->ids[i - 1]) == 0) {
                tally.dup_ids++;
                problem("%s: record id %s is at the hub more than once", e->devtext, e->ids[i]);
            }
        }
    }
    if (media && e->n_mf > 0) {
        MDB_txn *etxn = NULL;
        MDB_dbi edbi = 0;
        bool have = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &etxn) == 0;
        bool have_dbi = have && mdb_dbi_open(etxn, "mchunks", 0, &edbi) == 0;
        for (size_t i = 0; i < e->n_mf; i++) {
            check_media(e, &e->mf[i], bs, hk, etxn, edbi, have_dbi);
        }
        if (etxn) {
            mdb_txn_abort(etxn);
        }
    }
out:
    store_abort(&e->hub);
    for (size_t i = 0; i < e->n_ids; i++) {
        free(e->ids[i]);
    }
    free(e->ids);
    for (size_t i = 0; i < e->n_mf; i++) {
        free(e->mf[i].hashes);
        free(e->mf[i].sealed_key);
    }
    free(e->mf);
    devlog_destroy(&log);
    keys_wipe(&k);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: ft_converge [--no-media] [--exact] HUB_STATE EDGE_STATE...\n");
}

int main(int argc, char **argv)
{
    bool media = true, exact = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--no-media") == 0) {
            media = false;
        } else if (strcmp(argv[i], "--exact") == 0) {
            exact = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (argc - i < 2) {
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        return 1;
    }
    const char *hubdir = argv[i++];
    char path[4096];
    keys_t hk;
    memset(&hk, 0, sizeof hk);
    if (fsutil_join(path, sizeof path, hubdir, "hub.key") != FT_OK ||
        keys_load(&hk, path) != FT_OK) {
        fprintf(stderr, "converge: FAIL: cannot load %s/hub.key\n", hubdir);
        return 1;
    }
    store_t *hub = NULL;
    blobstore_t *bs = NULL;
    if (fsutil_join(path, sizeof path, hubdir, "db") != FT_OK ||
        store_open(path, 0, &hub) != FT_OK) {
        fprintf(stderr, "converge: FAIL: cannot open the hub store in %s/db\n", hubdir);
        keys_wipe(&hk);
        return 1;
    }
    if (media && (fsutil_join(path, sizeof path, hubdir, "blobs") != FT_OK ||
                  blobstore_open(path, &bs) != FT_OK)) {
        fprintf(stderr, "converge: FAIL: cannot open the hub's blob store in %s/blobs\n", hubdir);
        store_destroy(&hub);
        keys_wipe(&hk);
        return 1;
    }
    for (; i < argc; i++) {
        edge_t e;
        memset(&e, 0, sizeof e);
        e.dir = argv[i];
        check_edge(&e, hub, bs, &hk, media);
    }
    store_txn_t *t = NULL;
    uint64_t last = 0;
    if (store_begin(hub, false, &t) != FT_OK ||
        store_entry_count(t, &tally.hub_entries, &last) != FT_OK) {
        problem("cannot count the hub's entries");
    }
    store_abort(&t);
    if (exact && tally.hub_entries != tally.entries) {
        tally.extra += tally.hub_entries > tally.entries ? tally.hub_entries - tally.entries : 0;
        problem("the hub holds %llu entries, the edges %llu", (unsigned long long)tally.hub_entries,
                (unsigned long long)tally.entries);
    }
    blobstore_destroy(&bs);
    store_destroy(&hub);
    keys_wipe(&hk);
    bool ok = tally.missing == 0 && tally.extra == 0 && tally.differ == 0 && tally.hub_bad == 0 &&
              tally.edge_bad == 0 && tally.dup_ids == 0 && tally.media_missing == 0 &&
              tally.media_bad == 0 && tally.problems == 0;
    if (ok) {
        printf("converge: OK edges=%u entries=%llu records=%llu media=%llu bytes=%llu "
               "hub_entries=%llu\n",
               tally.edges, (unsigned long long)tally.entries, (unsigned long long)tally.records,
               (unsigned long long)tally.media, (unsigned long long)tally.media_bytes,
               (unsigned long long)tally.hub_entries);
        return 0;
    }
    if (tally.problems > MAX_PROBLEMS_SHOWN) {
        fprintf(stderr, "converge: ... and %llu more problems\n",
                (unsigned long long)(tally.problems - MAX_PROBLEMS_SHOWN));
    }
    printf("converge: FAIL edges=%u entries=%llu missing=%llu extra=%llu differ=%llu "
           "hub_bad=%llu edge_bad=%llu dup_ids=%llu media=%llu media_missing=%llu "
           "media_bad=%llu hub_entries=%llu\n",
           tally.edges, (unsigned long long)tally.entries, (unsigned long long)tally.missing,
           (unsigned long long)tally.extra, (unsigned long long)tally.differ,
           (unsigned long long)tally.hub_bad, (unsigned long long)tally.edge_bad,
           (unsigned long long)tally.dup_ids, (unsigned long long)tally.media,
           (unsigned long long)tally.media_missing, (unsigned long long)tally.media_bad,
           (unsigned long long)tally.hub_entries);
    return 1;
}
