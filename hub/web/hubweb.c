/* hubweb.c: the county hub's side of the web server (web.h web_backend_t)
 * and http_start (http.h), which serves the dashboard with it.
 *
 * Users and sessions live in STATE/web (users.h); audit entries are
 * AuditEvents appended to the hub's signed log. The shared handles are the
 * user database, the catalog (records and media read from the store), the
 * alert view (alerts as the hub log tells them) and the blob store. Its
 * part of the watcher's poll, in this order: the catalog reads what arrived
 * since its cursor and learns which media are now held; a "records" event
 * when the store has new entries; every new hub-log entry is fed to the
 * alert view ("alert" events for the alerts it changed) and announced
 * ("hublog").
 */
#include "fsutil.h"
#include "http.h"
#include "logging.h"
#include "record.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hub_parts_t hub;       /* what sh->hub points to (a copy of the caller's) */
    users_t *users;        /* the same as sh->users (for the session functions) */
    char url_dir[4096];    /* STATE/web */
    uint64_t hublog_seq;   /* last hub-log entry fed to the alert view */
    uint64_t last_arrival; /* store arrival of the newest entry, for "records" */
    web_shared_t *sh;      /* the server's shared handles (for feed_hublog) */
} hubweb_t;

static int hw_open(void *ctx, web_shared_t *sh)
{
    hubweb_t *hw = ctx;
    hw->sh = sh;
    sh->hub = &hw->hub;
    char dir[4096];
    int err = users_open(hw->url_dir, &sh->users);
    hw->users = sh->users;
    if (err == FT_OK) {
        err = catalog_new(&sh->catalog);
    }
    if (err == FT_OK) {
        err = alertview_new(&sh->alerts);
    }
    if (err == FT_OK && fsutil_join(dir, sizeof dir, hw->hub.state, "blobs") == FT_OK) {
        err = blobstore_open_conf(dir, hw->hub.blobs, &sh->blobs);
    }
    return err;
}

static void hw_close(void *ctx, web_shared_t *sh)
{
    if (sh) {
        alertview_destroy(&sh->alerts);
        blobstore_destroy(&sh->blobs);
        catalog_destroy(&sh->catalog);
        users_destroy(&sh->users);
    }
    free(ctx);
}

static bool blob_held(void *ctx, const uint8_t blob_id[32])
{
    return blobstore_has(ctx, blob_id);
}

static int feed_hublog(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    hubweb_t *hw = ctx;
    web_shared_t *sh = hw->sh;
    entry_view_t v;
    hw->hublog_seq = seq;
    if (entry_open(raw, len, &v) != FT_OK) {
        return 0;
    }
    json_t *changed = NULL;
    if (alertview_feed(sh->alerts, sh->catalog, seq, v.entry, &changed) && changed) {
        size_t i;
        json_t *a;
        json_array_foreach(changed, i, a)
        {
            webevents_publish(sh->events, "alert", json_incref(a));
        }
    }
    json_decref(changed);
    const char *kind = v.entry->body ? entry_body_kind(v.entry->body) : "unknown";
    webevents_publish(sh->events, "hublog",
                      json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "kind", kind));
    entry_view_free(&v);
    return 0;
}

static void hw_poll(void *ctx, web_shared_t *sh)
{
    hubweb_t *hw = ctx;
    size_t added = 0;
    if (catalog_update(sh->catalog, hw->hub.store, &added) != FT_OK) {
        log_warn("dashboard: cannot read new entries from the store");
    }
    if (sh->blobs) {
        catalog_update_held(sh->catalog, blob_held, sh->blobs);
    }
    store_txn_t *t = NULL;
    uint64_t count = 0, last = 0;
    if (store_begin(hw->hub.store, false, &t) != FT_OK ||
        store_entry_count(t, &count, &last) != FT_OK) {
        log_warn("dashboard: cannot read the store");
    }
    store_abort(&t);
    if (last != hw->last_arrival) {
        hw->last_arrival = last;
        webevents_publish(
            sh->events, "records",
            json_pack("{s:I, s:I}", "entries", (json_int_t)count, "added", (json_int_t)added));
    }
    uint64_t head = 0;
    if (hw->hub.hublog && devlog_head(hw->hub.hublog, &head, NULL) == FT_OK &&
        head > hw->hublog_seq) {
        (void)devlog_iter(hw->hub.hublog, hw->hublog_seq + 1, head, feed_hublog, hw);
    }
}

static int hw_password_check(void *ctx, const char *name, const char *password, user_t *out)
{
    return users_check(((hubweb_t *)ctx)->users, name, password, out);
}

static int hw_session_new(void *ctx, const char *user, int64_t now_ms, int64_t ttl_ms,
                          char token[SESSION_TOKEN_SIZE])
{
    return users_session_new(((hubweb_t *)ctx)->users, user, now_ms, ttl_ms, token);
}

static int hw_session_check(void *ctx, const char *token, int64_t now_ms, int64_t ttl_ms,
                            session_t *out)
{
    int err = users_session_check(((hubweb_t *)ctx)->users, token, now_ms, ttl_ms, out);
    return err == FT_OK || err == FT_ENOTFOUND || err == FT_EIO ? err : FT_ENOTFOUND;
}

static int hw_session_end(void *ctx, const char *token)
{
    return users_session_end(((hubweb_t *)ctx)->users, token);
}

static int hw_session_sweep(void *ctx, int64_t now_ms, size_t *n)
{
    return users_session_sweep(((hubweb_t *)ctx)->users, now_ms, n);
}

/* Appends one AuditEvent to the hub's log. */
static int hw_audit(void *ctx, const char *user, const char *action, const char *target,
                    const char *detail)
{
    hubweb_t *hw = ctx;
    return devlog_append1_audit(hw->hub.hublog, user, action, target, detail, NULL);
}

int http_start(const hub_parts_t *ctx, const rulepack_t *pack,
               const struct web_module *const *modules, const http_opts_t *opts, http_t **out)
{
    *out = NULL;
    hubweb_t *hw = calloc(1, sizeof *hw);
    if (!hw) {
        return FT_ENOMEM;
    }
    hw->hub = *ctx;
    int err = fsutil_join(hw->url_dir, sizeof hw->url_dir, ctx->state, "web");
    if (err != FT_OK) {
        free(hw);
        return err;
    }
    web_backend_t be = {
        .name = "county hub",
        .index_page = "index.html",
        .url_dir = hw->url_dir,
        .ctx = hw,
        .open = hw_open,
        .close = hw_close,
        .poll = hw_poll,
        .password_check = hw_password_check,
        .session_new = hw_session_new,
        .session_check = hw_session_check,
        .session_end = hw_session_end,
        .session_sweep = hw_session_sweep,
        .audit = hw_audit,
        .unavailable = "the hub's user database cannot be read; see the hub's log",
    };
    return http_serve(&be, ctx->cfg, pack, modules, opts, out);
}
