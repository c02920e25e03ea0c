/* alerts.c: alert rows, their per-unit index and their history (see
 * alerts.h). What an alert becomes is decided by alert_transition
 * (hub/gaps/alertstate.h), never here: this file stores what it decides.
 *
 * Invariants kept by every committed transaction:
 *   - every alert row has at least one history event, and its `state` is the
 *     state of its last event;
 *   - alert_unit lists, for each unit, exactly the alerts it ever raised;
 *   - history numbers grow by one per event (meta "alert_event").
 */
#include "alerts.h"
#include "alertstate.h"
#include "jsontext.h"
#include "lmdbx.h"
#include "record.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alerts_t {
    MDB_env *env;
    MDB_dbi alerts, alert_unit, history, justif, meta;
};

int alerts_open(index_t *idx, alerts_t **out)
{
    *out = NULL;
    alerts_t *a = calloc(1, sizeof *a);
    if (!a) {
        return FT_ENOMEM;
    }
    a->env = index_env(idx);
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(a->env, NULL, 0, &txn);
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "alerts", MDB_CREATE, &a->alerts);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "alert_unit", MDB_CREATE, &a->alert_unit);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "history", MDB_CREATE, &a->history);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "justif", MDB_CREATE, &a->justif);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &a->meta);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_txn_commit(txn);
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != MDB_SUCCESS) {
        free(a);
        return lmdbx_err(rc);
    }
    *out = a;
    return FT_OK;
}

void alerts_destroy(alerts_t **a_p)
{
    free(*a_p);
    *a_p = NULL;
}

int alert_events_init(alert_events_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->list = json_array();
    return ev->list ? FT_OK : FT_ENOMEM;
}

void alert_events_free(alert_events_t *ev)
{
    for (size_t i = 0; i < ev->n; i++) {
        free(ev->texts[i]);
    }
    free(ev->texts);
    json_decref(ev->list);
    memset(ev, 0, sizeof *ev);
}

/* Appends ev and its text (taken over, freed here on failure). */
static int events_add(alert_events_t *ev, json_t *e, char *text)
{
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 64;
        char **bigger = realloc(ev->texts, cap * sizeof *bigger);
        if (!bigger) {
            free(text);
            return FT_ENOMEM;
        }
        ev->texts = bigger;
        ev->cap = cap;
    }
    if (json_array_append(ev->list, e) != 0) {
        free(text);
        return FT_ENOMEM;
    }
    ev->texts[ev->n++] = text;
    return FT_OK;
}

static json_t *get_json(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t kn)
{
    MDB_val k = {kn, (void *)key}, v;
    if (mdb_get(txn, dbi, &k, &v) != MDB_SUCCESS) {
        return NULL;
    }
    return json_loadb(v.mv_data, v.mv_size, 0, NULL);
}

/* The stored form of a row or an event (docs/alerts.md): compact, keys
 * sorted, as json_dumps makes it (jsontext.h, in one pass). */
static char *dump(const json_t *j)
{
    return jsontext_sorted(j, NULL);
}

static int put_text(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t kn, const char *text,
                    size_t len)
{
    MDB_val k = {kn, (void *)key}, v = {len, (void *)text};
    return lmdbx_err(mdb_put(txn, dbi, &k, &v, 0));
}

static int put_json(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t kn, const json_t *j)
{
    char *text = dump(j);
    if (!text) {
        return FT_ENOMEM;
    }
    int err = put_text(txn, dbi, key, kn, text, strlen(text));
    free(text);
    return err;
}

json_t *alerts_get(alerts_t *a, index_txn_t *t, const char *alert_id)
{
    return get_json(index_txn_mdb(t), a->alerts, alert_id, strlen(alert_id));
}

uint64_t alerts_last_event(alerts_t *a, index_txn_t *t)
{
    uint64_t v = 0;
    if (lmdbx_get_meta_u64(index_txn_mdb(t), a->meta, "alert_event", &v) != FT_OK) {
        return 0;
    }
    return v;
}

static void set_time(json_t *o, const char *key, int64_t ms)
{
    char buf[48], k2[64];
    rfc3339_format(ms, 0, buf, sizeof buf);
    json_object_set_new(o, key, json_string(buf));
    snprintf(k2, sizeof k2, "%s_ms", key);
    json_object_set_new(o, k2, json_integer(ms));
}

/* Sets the row's state, stores it, appends the event (history + events).
 * The event holds the row itself: a caller that changes the row after this
 * gives the next transition a copy. The row is dumped once: its text is
 * the `alerts` row and, inside the event's text, the event's "alert". */
static int transition(alerts_t *a, index_txn_t *t, json_t *row, const char *state, int64_t now_ms,
                      const char *why, alert_events_t *events)
{
    MDB_txn *txn = index_txn_mdb(t);
    const char *prev = json_string_value(json_object_get(row, "state"));
    json_t *prev_j = prev ? json_string(prev) : json_null();
    json_object_set_new(row, "state", json_string(state));
    set_time(row, "updated_at", now_ms);
    const char *id = json_string_value(json_object_get(row, "id"));
    if (!id) {
        json_decref(prev_j);
        return FT_EINVAL;
    }
    uint64_t no = alerts_last_event(a, t) + 1;
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_integer((json_int_t)no));
    json_object_set_new(ev, "alert_id", json_string(id));
    json_object_set_new(ev, "state", json_string(state));
    json_object_set_new(ev, "previous", prev_j);
    set_time(ev, "at", now_ms);
    json_object_set_new(ev, "why", utf8_json_string(why));
    char *row_text = dump(row), *rest = dump(ev), *text = NULL;
    size_t rn = row_text ? strlen(row_text) : 0, en = rest ? strlen(rest) : 0;
    /* The event's text is json_dumps of the event with "alert" (the row)
     * added: sorted, "alert" comes before every other key of an event, so
     * it is "{\"alert\":" row "," and the rest without its "{". */
    static const char head[] = "{\"alert\":";
    if (row_text && rest && en > 2) {
        text = malloc(sizeof head - 1 + rn + 1 + en - 1 + 1);
    }
    int err = text ? FT_OK : FT_ENOMEM;
    if (text) {
        memcpy(text, head, sizeof head - 1);
        memcpy(text + sizeof head - 1, row_text, rn);
        text[sizeof head - 1 + rn] = ',';
        memcpy(text + sizeof head + rn, rest + 1, en); /* with its terminator */
    }
    if (err == FT_OK) {
        err = put_text(txn, a->alerts, id, strlen(id), row_text, rn);
    }
    uint8_t key[8];
    lmdbx_put_u64(key, no);
    if (err == FT_OK) {
        err = put_text(txn, a->history, key, sizeof key, text, strlen(text));
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(txn, a->meta, "alert_event", no);
    }
    json_object_set(ev, "alert", row);
    if (err == FT_OK && events) {
        err = events_add(events, ev, text);
        text = NULL;
    }
    free(text);
    free(rest);
    free(row_text);
    json_decref(ev);
    return err;
}

/* u16 len | unit | id into k; returns the length of the prefix or the key. */
static size_t unit_key(uint8_t *k, const index_unit_t *u, const char *id)
{
    k[0] = (uint8_t)(u->n >> 8);
    k[1] = (uint8_t)u->n;
    memcpy(k + 2, u->b, u->n);
    if (!id) {
        return 2 + u->n;
    }
    memcpy(k + 2 + u->n, id, 16);
    return 2 + u->n + 16;
}

/* The step ev makes from the row's state (a NULL row: no alert yet). */
static alert_step row_step(const json_t *row, alert_event ev, bool earlier_justification)
{
    alert_facts_t f = alert_row_facts(row, earlier_justification);
    alert_state next;
    return alert_transition(alert_row_state(row), ev, &f, &next);
}

static int justify_row(alerts_t *a, index_txn_t *t, json_t *row, const json_t *j, int64_t now_ms,
                       alert_events_t *events)
{
    json_object_set(row, "justification", (json_t *)j);
    char why[600];
    const char *ref = json_string_value(json_object_get(j, "ref"));
    const char *by = json_string_value(json_object_get(j, "by"));
    const char *reason = json_string_value(json_object_get(j, "reason"));
    if (by) {
        snprintf(why, sizeof why, "justified by %s (%s): %s", by, ref ? ref : "?",
                 reason ? reason : "");
    } else {
        snprintf(why, sizeof why, "justified by %s: %s", ref ? ref : "?", reason ? reason : "");
    }
    utf8_trim(why); /* a long reason is cut on a whole character */
    return transition(a, t, row, alert_state_name(ALERT_JUSTIFIED), now_ms, why, events);
}

/* The alert IDs of one unit's alert_unit rows (a key of another length
 * ends the list, as a key of another unit would). */
typedef struct {
    size_t pn;
    char (*known)[17];
    size_t n, cap;
} known_t;

static int collect_known(void *ctx, const lmdbx_row_t *row)
{
    known_t *k = ctx;
    if (row->key.mv_size != k->pn + 16) {
        return 1;
    }
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        void *bigger = realloc(k->known, cap * sizeof *k->known);
        if (!bigger) {
            return FT_ENOMEM;
        }
        k->known = bigger;
        k->cap = cap;
    }
    memcpy(k->known[k->n], (const uint8_t *)row->key.mv_data + k->pn, 16);
    k->known[k->n][16] = '\0';
    k->n++;
    return 0;
}

int alerts_apply(alerts_t *a, index_txn_t *t, const index_unit_t *unit, json_t *const *raised,
                 size_t n, int64_t now_ms, alert_events_t *events)
{
    MDB_txn *txn = index_txn_mdb(t);
    /* Known alerts of the unit: a read error is the error, never "none". */
    uint8_t prefix[2 + INDEX_UNIT_MAX + 16];
    size_t pn = unit_key(prefix, unit, NULL);
    known_t kw = {.pn = pn};
    MDB_val p = {pn, prefix};
    int err = lmdbx_scan(txn, a->alert_unit, NULL, &p, collect_known, &kw);
    if (err == 1) {
        err = FT_OK;
    }
    char(*known)[17] = kw.known;
    size_t n_known = kw.n;
    /* Raised now: open or reopen. */
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        const char *id = json_string_value(json_object_get(raised[i], "id"));
        if (!id || strlen(id) != 16) {
            err = FT_EINVAL;
            break;
        }
        json_t *row = alerts_get(a, t, id);
        if (!row) {                       /* (none) --raised--> open */
            row = json_incref(raised[i]); /* the caller's, changed (alerts.h) */
            set_time(row, "opened_at", now_ms);
            err = transition(a, t, row, alert_state_name(ALERT_OPEN), now_ms, "raised", events);
            uint8_t key[2 + INDEX_UNIT_MAX + 16];
            size_t kn = unit_key(key, unit, id);
            MDB_val uk = {kn, key}, uv = {0, ""};
            if (err == FT_OK) {
                err = lmdbx_err(mdb_put(txn, a->alert_unit, &uk, &uv, 0));
            }
            json_t *j = get_json(txn, a->justif, id, 16);
            if (err == FT_OK && j && row_step(row, ALERT_JUSTIFY, false) == ALERT_MOVE) {
                /* the held one; the "open" event keeps the row as it opened */
                json_t *again = json_deep_copy(row);
                err = again ? justify_row(a, t, again, j, now_ms, events) : FT_ENOMEM;
                json_decref(again);
            }
            json_decref(j);
        } else {
            alert_step step = row_step(row, ALERT_RAISED, false);
            /* Keep the details current (the detail text may change), and the
             * officers (rows from before alerts carried them have none). */
            bool changed = false;
            static const char *const keys[] = {"detail", "detail_tpl", "detail_args", "officers"};
            for (size_t kk = 0; kk < sizeof keys / sizeof keys[0]; kk++) {
                json_t *now = json_object_get(raised[i], keys[kk]);
                if (now && !json_equal(now, json_object_get(row, keys[kk]))) {
                    json_object_set(row, keys[kk], now);
                    changed = true;
                }
            }
            if (step == ALERT_MOVE) {
                err = transition(a, t, row, alert_state_name(ALERT_OPEN), now_ms, "raised again",
                                 events);
            } else if (changed) {
                err = put_json(txn, a->alerts, id, 16, row);
            }
        }
        json_decref(row);
    }
    /* Known but no longer raised: resolve the open ones. */
    for (size_t i = 0; err == FT_OK && i < n_known; i++) {
        bool still = false;
        for (size_t j = 0; j < n && !still; j++) {
            const char *id = json_string_value(json_object_get(raised[j], "id"));
            still = id && strcmp(id, known[i]) == 0;
        }
        if (still) {
            continue;
        }
        json_t *row = alerts_get(a, t, known[i]);
        if (row && row_step(row, ALERT_GONE, false) == ALERT_MOVE) {
            set_time(row, "resolved_at", now_ms);
            err = transition(a, t, row, alert_state_name(ALERT_RESOLVED), now_ms,
                             "condition gone: what was missing is there now", events);
        }
        json_decref(row);
    }
    free(known);
    return err;
}

int alerts_justify(alerts_t *a, index_txn_t *t, const char *alert_id, const char *ref,
                   const char *by, const char *reason, int64_t now_ms, alert_events_t *events)
{
    char id[17];
    size_t n = strlen(alert_id);
    if (n != 16) {
        return FT_OK; /* names no alert the hub can raise; the fields rule sees it */
    }
    for (size_t i = 0; i < 16; i++) {
        char c = alert_id[i];
        id[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    id[16] = '\0';
    MDB_txn *txn = index_txn_mdb(t);
    json_t *held = get_json(txn, a->justif, id, 16);
    json_t *row = alerts_get(a, t, id);
    alert_step step = row_step(row, ALERT_JUSTIFY, held != NULL);
    json_decref(held);
    if (step == ALERT_STAY) { /* the first justification counts; justified is final */
        json_decref(row);
        return FT_OK;
    }
    /* ALERT_HOLD (no alert yet: kept for when it opens) or ALERT_MOVE */
    json_t *j = json_object();
    /* from a justification record: escaped where not valid UTF-8 (utf8.h) */
    json_object_set_new(j, "ref", utf8_json_string(ref));
    if (by && by[0]) {
        json_object_set_new(j, "by", utf8_json_string(by));
    }
    json_object_set_new(j, "reason", utf8_json_string(reason ? reason : ""));
    set_time(j, "at", now_ms);
    int err = put_json(txn, a->justif, id, 16, j);
    if (err == FT_OK && step == ALERT_MOVE) {
        err = justify_row(a, t, row, j, now_ms, events);
    }
    json_decref(row);
    json_decref(j);
    return err;
}

typedef struct {
    alerts_fn fn;
    void *ctx;
} json_walk_t;

static int json_row(void *ctx, const lmdbx_row_t *row)
{
    const json_walk_t *w = ctx;
    json_t *j = json_loadb(row->val.mv_data, row->val.mv_size, 0, NULL);
    if (!j) {
        return FT_ECORRUPT;
    }
    int result = w->fn(w->ctx, j);
    json_decref(j);
    return result;
}

/* Visits the JSON rows of dbi from start (sn 0: the first); a read error is
 * returned, never the end of the rows. */
static int iter_json(MDB_txn *txn, MDB_dbi dbi, const void *start, size_t sn, alerts_fn fn,
                     void *ctx)
{
    MDB_val k = {sn, (void *)start};
    json_walk_t w = {fn, ctx};
    return lmdbx_scan(txn, dbi, sn ? &k : NULL, NULL, json_row, &w);
}

int alerts_iter(alerts_t *a, index_txn_t *t, alerts_fn fn, void *ctx)
{
    return iter_json(index_txn_mdb(t), a->alerts, NULL, 0, fn, ctx);
}

int alerts_history_iter(alerts_t *a, index_txn_t *t, uint64_t after, alerts_fn fn, void *ctx)
{
    uint8_t key[8];
    lmdbx_put_u64(key, after + 1);
    return iter_json(index_txn_mdb(t), a->history, key, sizeof key, fn, ctx);
}
