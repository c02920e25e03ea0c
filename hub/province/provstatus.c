/* provstatus.c: the forwarder's local state and re-sealed keys in the hub
 * log's environment (provstatus.h). */
#include "provstatus.h"

#include "lmdbx.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_STATUS "province"
#define DB_KEYS "province_keys"

/* Opens db in txn (creating it when the txn writes). FT_ENOTFOUND if it
 * does not exist in a read transaction. */
static int open_db(MDB_txn *txn, const char *name, bool create, MDB_dbi *dbi)
{
    int rc = mdb_dbi_open(txn, name, create ? MDB_CREATE : 0, dbi);
    return rc == MDB_NOTFOUND ? FT_ENOTFOUND : lmdbx_err(rc);
}

static void get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *out)
{
    uint64_t v = 0;
    if (lmdbx_get_meta_u64(txn, dbi, key, &v) == FT_OK) {
        *out = v;
    }
}
static void get_i64(MDB_txn *txn, MDB_dbi dbi, const char *key, int64_t *out)
{
    uint64_t v = 0;
    get_u64(txn, dbi, key, &v);
    *out = (int64_t)v;
}
static void get_text(MDB_txn *txn, MDB_dbi dbi, const char *key, char *out, size_t n)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    out[0] = '\0';
    if (mdb_get(txn, dbi, &k, &v) == 0) {
        size_t len = v.mv_size < n - 1 ? v.mv_size : n - 1;
        memcpy(out, v.mv_data, len);
        out[len] = '\0';
    }
}

int prov_status_read(devlog_t *hublog, prov_status_t *st)
{
    memset(st, 0, sizeof *st);
    MDB_txn *txn = NULL;
    int rc = lmdbx_err(mdb_txn_begin(devlog_env(hublog), NULL, MDB_RDONLY, &txn));
    if (rc != FT_OK) {
        return rc;
    }
    MDB_dbi dbi;
    rc = open_db(txn, DB_STATUS, false, &dbi);
    if (rc == FT_ENOTFOUND) {
        mdb_txn_abort(txn);
        return FT_OK;
    }
    if (rc == FT_OK) {
        st->present = true;
        get_text(txn, dbi, "county", st->county, sizeof st->county);
        get_text(txn, dbi, "target", st->target, sizeof st->target);
        get_text(txn, dbi, "state", st->state, sizeof st->state);
        get_text(txn, dbi, "last_error", st->last_error, sizeof st->last_error);
        get_i64(txn, dbi, "pid", &st->pid);
        get_u64(txn, dbi, "checkpoint", &st->checkpoint);
        get_u64(txn, dbi, "hublog_checkpoint", &st->hublog_checkpoint);
        get_i64(txn, dbi, "last_try_ms", &st->last_try_ms);
        get_i64(txn, dbi, "last_success_ms", &st->last_success_ms);
        get_i64(txn, dbi, "last_error_ms", &st->last_error_ms);
        get_u64(txn, dbi, "sent_entries", &st->sent_entries);
        get_u64(txn, dbi, "sent_duplicates", &st->sent_duplicates);
        get_u64(txn, dbi, "keys_resealed", &st->keys_resealed);
    }
    mdb_txn_abort(txn);
    return rc;
}

static int put_text(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *s)
{
    return lmdbx_put_meta(txn, dbi, key, s, strlen(s));
}

int prov_status_write(devlog_t *hublog, const prov_status_t *st)
{
    MDB_env *env = devlog_env(hublog);
    MDB_txn *txn = NULL;
    int rc = lmdbx_env_err(env, mdb_txn_begin(env, NULL, 0, &txn));
    if (rc != FT_OK) {
        return rc;
    }
    MDB_dbi dbi;
    rc = open_db(txn, DB_STATUS, true, &dbi);
    const struct {
        const char *key;
        uint64_t v;
    } nums[] = {
        {"pid", (uint64_t)st->pid},
        {"checkpoint", st->checkpoint},
        {"hublog_checkpoint", st->hublog_checkpoint},
        {"last_try_ms", (uint64_t)st->last_try_ms},
        {"last_success_ms", (uint64_t)st->last_success_ms},
        {"last_error_ms", (uint64_t)st->last_error_ms},
        {"sent_entries", st->sent_entries},
        {"sent_duplicates", st->sent_duplicates},
        {"keys_resealed", st->keys_resealed},
    };
    for (size_t i = 0; rc == FT_OK && i < sizeof nums / sizeof nums[0]; i++) {
        rc = lmdbx_put_meta_u64(txn, dbi, nums[i].key, nums[i].v);
    }
    if (rc == FT_OK) {
        rc = put_text(txn, dbi, "county", st->county);
    }
    if (rc == FT_OK) {
        rc = put_text(txn, dbi, "target", st->target);
    }
    if (rc == FT_OK) {
        rc = put_text(txn, dbi, "state", st->state);
    }
    if (rc == FT_OK) {
        rc = put_text(txn, dbi, "last_error", st->last_error);
    }
    if (rc != FT_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    return lmdbx_env_err(env, mdb_txn_commit(txn));
}

void prov_sealed_hash(const uint8_t *sealed, size_t len, uint8_t out[32])
{
    crypto_generichash(out, 32, sealed, len, NULL, 0);
}

#define KEY_ROW (16 + MEDIA_SEALED_KEY_BYTES)

int prov_keys_reseal(devlog_t *hublog, const keys_t *hub, const uint8_t archive_pk[32],
                     const prov_reseal_t *items, size_t n, prov_key_t *out)
{
    if (n == 0) {
        return FT_OK;
    }
    if (!hub->has_archive) {
        return FT_EKEY;
    }
    devlog_txn_t *t = NULL;
    int rc = devlog_begin(hublog, &t);
    if (rc != FT_OK) {
        return rc;
    }
    MDB_txn *txn = devlog_txn_mdb(t);
    MDB_dbi dbi;
    rc = open_db(txn, DB_KEYS, true, &dbi);
    char pk_hex[65];
    hex_encode(archive_pk, 32, pk_hex);
    for (size_t i = 0; rc == FT_OK && i < n; i++) {
        uint8_t k[MEDIA_FILE_ID_BYTES + 32];
        memcpy(k, items[i].file_id, MEDIA_FILE_ID_BYTES);
        memcpy(k + MEDIA_FILE_ID_BYTES, archive_pk, 32);
        MDB_val key = {sizeof k, k}, val;
        int g = mdb_get(txn, dbi, &key, &val);
        if (g == 0 && val.mv_size == KEY_ROW) {
            const uint8_t *p = val.mv_data;
            out[i].hublog_epoch = lmdbx_get_u64(p);
            out[i].hublog_seq = lmdbx_get_u64(p + 8);
            memcpy(out[i].sealed, p + 16, MEDIA_SEALED_KEY_BYTES);
            out[i].fresh = false;
            out[i].unopenable = false;
            continue;
        }
        if (g == 0) {
            rc = FT_ECORRUPT;
            break;
        }
        if (g != MDB_NOTFOUND) {
            rc = lmdbx_err(g);
            break;
        }
        /* The same file twice in one batch (a manifest forwarded twice
         * cannot happen, but keep one row per key): look back. */
        bool dup = false;
        for (size_t j = 0; j < i; j++) {
            if (memcmp(items[j].file_id, items[i].file_id, MEDIA_FILE_ID_BYTES) == 0) {
                out[i] = out[j];
                out[i].fresh = false;
                dup = true;
                break;
            }
        }
        if (dup) {
            continue;
        }
        uint8_t fk[MEDIA_KEY_BYTES];
        memset(&out[i], 0, sizeof out[i]);
        rc = media_key_unseal(items[i].hub_sealed, MEDIA_SEALED_KEY_BYTES, hub->archive_pk,
                              hub->archive_sk, fk);
        if (rc == FT_ECRYPTO || rc == FT_EINVAL) {
            out[i].unopenable = true;
            rc = FT_OK;
            continue;
        }
        if (rc == FT_OK) {
            rc = media_key_seal(fk, archive_pk, out[i].sealed);
        }
        sodium_memzero(fk, sizeof fk);
        if (rc != FT_OK) {
            break;
        }
        char fid_hex[2 * MEDIA_FILE_ID_BYTES + 1], h_hex[65], detail[256];
        uint8_t h[32];
        hex_encode(items[i].file_id, MEDIA_FILE_ID_BYTES, fid_hex);
        prov_sealed_hash(out[i].sealed, MEDIA_SEALED_KEY_BYTES, h);
        hex_encode(h, 32, h_hex);
        snprintf(detail, sizeof detail, "{\"archive_pk\":\"%s\",\"sealed_key_blake2b\":\"%s\"}",
                 pk_hex, h_hex);
        uint64_t seq = 0;
        rc = devlog_append_audit(t, "province", "media_key_resealed", fid_hex, detail, &seq);
        if (rc != FT_OK) {
            break;
        }
        out[i].hublog_epoch = devlog_epoch(hublog);
        out[i].hublog_seq = seq;
        out[i].fresh = true;
        uint8_t row[KEY_ROW];
        lmdbx_put_u64(row, out[i].hublog_epoch);
        lmdbx_put_u64(row + 8, seq);
        memcpy(row + 16, out[i].sealed, MEDIA_SEALED_KEY_BYTES);
        MDB_val v = {sizeof row, row};
        rc = lmdbx_err(mdb_put(txn, dbi, &key, &v, 0));
    }
    if (rc == FT_OK) {
        rc = devlog_commit(&t);
    }
    devlog_abort(&t);
    return rc;
}
