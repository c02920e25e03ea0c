/* ft_forge.c: a test tool that talks to a hub as an enrolled (or unknown)
 * device and sends chosen, possibly crafted, raw entries. The refusal tests
 * use it to check that the hub rejects each kind of bad entry.
 *
 * usage: ft_forge --hub EP --hub-key HEX --as STATE --from STATE --seqs A-B
 *                 [--skip SEQ] [--flip SEQ] [--forge-link SEQ] [--equivocate SEQ]
 *                 [--garbage] [--first-seq N] [--wait-ms N]
 *   --as STATE        connect with STATE/device.key (CURVE and routing ID)
 *   --from STATE      take entries from the log in STATE (its device.key opens it)
 *   --seqs A-B        entries A..B of that log, in one batch (A-A for one)
 *   --skip SEQ        leave entry SEQ out (a gap)
 *   --flip SEQ        flip the last byte of entry SEQ (inside its signature)
 *   --forge-link SEQ  replace SEQ by an entry signed with the source's key whose
 *                     prev_hash is random (a broken chain)
 *   --equivocate SEQ  replace SEQ by a different, validly signed entry at SEQ
 *   --garbage         append bytes that are no entry at all
 *   --first-seq N     claim in the batch that it starts at N (lost-in-flight case)
 * Prints one JSON line per message received ({"kind":"welcome",...},
 * {"kind":"receipt","upto_seq":N}, {"kind":"error","reason":...,"seq":N}) and
 * {"kind":"refused"} if the handshake is refused. Exit 0, or 1 on a local
 * failure, 3 if the handshake did not succeed.
 */
#include "devlog.h"
#include "fsutil.h"
#include "wire.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "../lib/zmq_wait.h"

static int load_keys(const char *state, keys_t *k)
{
    char path[4096];
    if (fsutil_join(path, sizeof path, state, "device.key") != FT_OK || keys_load(k, path) != 0) {
        fprintf(stderr, "ft_forge: cannot load %s/device.key\n", state);
        return 1;
    }
    return 0;
}

/* Seals a replacement for entry `orig` (same device, epoch, seq): with a
 * random prev_hash (forge_link) or with a different body (equivocate). */
static int reseal(const keys_t *k, const uint8_t *orig, size_t len, bool random_link, uint8_t **out,
                  size_t *out_len)
{
    entry_view_t v;
    if (entry_open(orig, len, &v) != FT_OK) {
        return 1;
    }
    Ft__Entry e = *v.entry;
    uint8_t prev[32];
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    Ft__Body body = FT__BODY__INIT;
    if (random_link) {
        randombytes_buf(prev, sizeof prev);
        e.prev_hash.data = prev;
    } else {
        ev.kind = FT__DEVICE_EVENT_KIND__CLOCK_CHANGED;
        ev.detail = "a second, different entry at the same position";
        body.kind_case = FT__BODY__KIND_EVENT;
        body.event = &ev;
        e.body = &body;
    }
    uint8_t hash[32];
    int err = entry_seal(&e, k, out, out_len, hash);
    entry_view_free(&v);
    return err == FT_OK ? 0 : 1;
}

static void print_msg(const wire_msg_t *m)
{
    switch (m->kind) {
    case WIRE_WELCOME:
        printf("{\"kind\":\"welcome\",\"have_seq\":%llu}\n",
               (unsigned long long)m->u.welcome.have_seq);
        break;
    case WIRE_RECEIPT:
        printf("{\"kind\":\"receipt\",\"upto_seq\":%llu}\n",
               (unsigned long long)m->u.receipt.body.upto_seq);
        break;
    case WIRE_ERROR:
        printf("{\"kind\":\"error\",\"code\":%d,\"reason\":\"%s\",\"seq\":%llu}\n", m->u.error.code,
               m->u.error.reason, (unsigned long long)m->u.error.seq);
        break;
    default:
        printf("{\"kind\":\"%s\"}\n", wire_kind_name(m->kind));
        break;
    }
    fflush(stdout);
}

/* Receives and prints messages until the deadline; stops early after an
 * Error or a receipt covering `last`. */
static void drain(void *dealer, int64_t deadline, uint64_t last, bool stop_on_welcome)
{
    uint8_t *buf = malloc(1 << 20);
    while (buf && mono_ms() < deadline) {
        zmq_pollitem_t it = {dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0) {
            continue;
        }
        int n = zmq_recv(dealer, buf, 1 << 20, 0);
        if (n < 0) {
            continue;
        }
        wire_msg_t m;
        if (wire_decode(buf, (size_t)n, &m) != FT_OK) {
            printf("{\"kind\":\"undecodable\"}\n");
            continue;
        }
        print_msg(&m);
        bool done = m.kind == WIRE_ERROR || (stop_on_welcome && m.kind == WIRE_WELCOME) ||
                    (m.kind == WIRE_RECEIPT && m.u.receipt.body.upto_seq >= last);
        wire_msg_free(&m);
        if (done) {
            break;
        }
    }
    free(buf);
}

int main(int argc, char **argv)
{
    const char *hub = NULL, *hub_key_hex = NULL, *as = NULL, *from = NULL, *seqs = NULL;
    unsigned long long skip = 0, flip = 0, forge_link = 0, equivocate = 0, first_seq = 0;
    bool garbage = false;
    long wait_ms = 3000;
    static const struct option opts[] = {
        {"hub", required_argument, NULL, 'H'},
        {"hub-key", required_argument, NULL, 'K'},
        {"as", required_argument, NULL, 'a'},
        {"from", required_argument, NULL, 'f'},
        {"seqs", required_argument, NULL, 's'},
        {"skip", required_argument, NULL, 'k'},
        {"flip", required_argument, NULL, 'x'},
        {"forge-link", required_argument, NULL, 'l'},
        {"equivocate", required_argument, NULL, 'e'},
        {"garbage", no_argument, NULL, 'g'},
        {"wait-ms", required_argument, NULL, 'w'},
        {"first-seq", required_argument, NULL, 'F'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            hub = optarg;
            break;
        case 'K':
            hub_key_hex = optarg;
            break;
        case 'a':
            as = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 's':
            seqs = optarg;
            break;
        case 'k':
            skip = strtoull(optarg, NULL, 10);
            break;
        case 'x':
            flip = strtoull(optarg, NULL, 10);
            break;
        case 'l':
            forge_link = strtoull(optarg, NULL, 10);
            break;
        case 'e':
            equivocate = strtoull(optarg, NULL, 10);
            break;
        case 'g':
            garbage = true;
            break;
        case 'w':
            wait_ms = strtol(optarg, NULL, 10);
            break;
        case 'F':
            first_seq = strtoull(optarg, NULL, 10);
            break;
        default:
            fprintf(stderr, "ft_forge: see the top of tests/sync/ft_forge.c for usage\n");
            return 2;
        }
    }
    unsigned long long a = 0, b = 0;
    if (!hub || !hub_key_hex || !as || (seqs && sscanf(seqs, "%llu-%llu", &a, &b) != 2) ||
        (seqs && !from)) {
        fprintf(stderr, "ft_forge: --hub, --hub-key, --as (and --from with --seqs A-B)\n");
        return 2;
    }
    if (sodium_init() < 0) {
        return 1;
    }
    uint8_t hub_key[32];
    keys_t as_keys, from_keys;
    if (hex_decode(hub_key_hex, hub_key, 32) != FT_OK || load_keys(as, &as_keys) != 0) {
        return 1;
    }
    /* The batch. */
    size_t cap = (size_t)(b >= a ? b - a + 2 : 2), n = 0;
    wire_bytes_t *entries = calloc(cap, sizeof *entries);
    uint8_t **owned = calloc(cap, sizeof *owned);
    uint64_t epoch = 0;
    if (seqs) {
        char dir[4096];
        devlog_t *log = NULL;
        if (load_keys(from, &from_keys) != 0 || fsutil_join(dir, sizeof dir, from, "db") != FT_OK ||
            devlog_open(dir, &from_keys, NULL, &log) != FT_OK) {
            fprintf(stderr, "ft_forge: cannot open the log in %s\n", from);
            return 1;
        }
        epoch = devlog_epoch(log);
        for (unsigned long long seq = a; seq <= b; seq++) {
            if (seq == skip) {
                continue;
            }
            uint8_t *raw = NULL;
            size_t len = 0;
            if (devlog_get(log, seq, &raw, &len) != FT_OK) {
                fprintf(stderr, "ft_forge: %s has no entry %llu\n", from, seq);
                return 1;
            }
            if (seq == flip) {
                raw[len - 1] ^= 0x01;
            }
            if (seq == forge_link || seq == equivocate) {
                uint8_t *re = NULL;
                size_t re_len = 0;
                if (reseal(&from_keys, raw, len, seq == forge_link, &re, &re_len) != 0) {
                    return 1;
                }
                free(raw);
                raw = re;
                len = re_len;
            }
            owned[n] = raw;
            entries[n].data = raw;
            entries[n].len = len;
            n++;
        }
        devlog_destroy(&log);
        keys_wipe(&from_keys);
    }
    static uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02};
    if (garbage) {
        entries[n].data = junk;
        entries[n].len = sizeof junk;
        n++;
    }

    void *ctx = zmq_ctx_new();
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    uint8_t id[DEVID_BYTES], rid[WIRE_ROUTING_ID_BYTES];
    devid_from_pk(as_keys.sign_pk, id);
    wire_routing_id(id, rid);
    int zero = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, rid, sizeof rid);
    zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, hub_key, 32);
    zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, as_keys.box_pk, 32);
    zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, as_keys.box_sk, 32);
    zmq_socket_monitor(dealer, "inproc://forge-mon",
                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    void *mon = zmq_socket(ctx, ZMQ_PAIR);
    zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(mon, "inproc://forge-mon");
    zmq_connect(dealer, hub);
    int status = 0;
    if (!await_handshake(mon, mono_ms() + wait_ms)) {
        printf("{\"kind\":\"refused\"}\n");
        status = 3;
        goto out;
    }
    wire_msg_t hello = {.kind = WIRE_HELLO};
    hello.u.hello.version = WIRE_VERSION;
    hello.u.hello.epoch = epoch;
    hello.u.hello.head_seq = b;
    hello.u.hello.wall_ms = (int64_t)time(NULL) * 1000;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (wire_encode(&hello, &buf, &len) != FT_OK || zmq_send(dealer, buf, len, 0) < 0) {
        status = 1;
        goto out;
    }
    free(buf);
    drain(dealer, mono_ms() + wait_ms, 0, true);
    if (n > 0) {
        wire_msg_t batch = {.kind = WIRE_BATCH};
        batch.u.batch.n = n;
        batch.u.batch.entries = entries;
        batch.u.batch.first_seq = first_seq;
        if (wire_encode(&batch, &buf, &len) != FT_OK || zmq_send(dealer, buf, len, 0) < 0) {
            status = 1;
            goto out;
        }
        free(buf);
        drain(dealer, mono_ms() + wait_ms, b, false);
    }
out:
    zmq_socket_monitor(dealer, NULL, 0);
    zmq_close(mon);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    for (size_t i = 0; i < n; i++) {
        free(owned[i]);
    }
    free(owned);
    free(entries);
    keys_wipe(&as_keys);
    return status;
}
