/* cmd_subscriber.c: `fieldtrail-hub subscriber`: who may subscribe to the
 * alert PUB socket (hub/delivery/subscribers.h).
 *
 *   subscriber add KEY [--name NAME]   KEY: the subscriber's CurveZMQ public
 *                                      key, 64 hex digits
 *   subscriber remove KEY
 *   subscriber list [--json]
 * The running hub reads the list again at the next handshake. Each change
 * is also an AuditEvent in the hub's own log (by the operating system user
 * who ran the command).
 */
#include "fsutil.h"
#include "hub.h"
#include "subscribers.h"
#include "utf8.h"

#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void subscriber_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub subscriber add KEY [--name NAME] [--state DIR]\n"
                 "       fieldtrail-hub subscriber remove KEY [--state DIR]\n"
                 "       fieldtrail-hub subscriber list [--state DIR] [--json]\n\n"
                 "Keeps the list of programs that may subscribe to the hub's alert PUB\n"
                 "socket (config `alerts.publish`). The socket is a CurveZMQ server with the\n"
                 "hub's transport key (`hub_key` in `fieldtrail-hub status`); a subscriber\n"
                 "connects with a key pair of its own, and KEY is its public key, 64 hex\n"
                 "digits. A running hub takes a change at the next handshake.\n");
}

static const char *os_user(void)
{
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : "unknown";
}

static int audit(hub_ctx_t *ctx, const char *action, const char *target, const char *detail)
{
    char who[128];
    snprintf(who, sizeof who, "cli:%s", os_user());
    return devlog_append1_audit(ctx->hublog, who, action, target, detail, NULL);
}

int hub_cmd_subscriber(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    const char *name = NULL;
    const cli_opt_t own[] = {CLI_VALUE("name", &name), CLI_END};
    int rc = hub_parse(&ctx, argc, argv, own, subscriber_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    int n_pos = argc - optind;
    const char *verb = n_pos >= 1 ? argv[optind] : NULL;
    const char *key_text = n_pos >= 2 ? argv[optind + 1] : NULL;
    bool ok = verb && ((strcmp(verb, "list") == 0 && n_pos == 1) ||
                       ((strcmp(verb, "add") == 0 || strcmp(verb, "remove") == 0) && n_pos == 2));
    if (!ok || (name && strcmp(verb, "add") != 0)) {
        subscriber_usage(stderr);
        return 2;
    }
    uint8_t key[32];
    if (key_text && subscribers_parse_key(key_text, key) != FT_OK) {
        hub_fail("\"%s\" is not a subscriber key: 64 hex digits (the subscriber's CurveZMQ "
                 "public key)",
                 key_text);
        return 2;
    }
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    char path[4200], err[512] = "";
    subscriber_t *list = NULL;
    size_t n = 0;
    int result = 0;
    if (fsutil_join(path, sizeof path, ctx.state, SUBSCRIBERS_FILE) != FT_OK ||
        subscribers_read(path, &list, &n, err, sizeof err) != FT_OK) {
        hub_fail("%s", err[0] ? err : "state directory path is too long");
        hub_close(&ctx);
        return 1;
    }
    char hex[65] = "";
    if (key_text) {
        hex_encode(key, 32, hex);
    }
    size_t at = n;
    for (size_t i = 0; key_text && i < n; i++) {
        if (memcmp(list[i].key, key, 32) == 0) {
            at = i;
        }
    }
    if (strcmp(verb, "list") == 0) {
        for (size_t i = 0; i < n; i++) {
            char k[65], shown[SUBSCRIBER_NAME_MAX * 4];
            hex_encode(list[i].key, 32, k);
            if (ctx.json) {
                json_t *o =
                    json_pack("{s:s, s:o}", "key", k, "name", utf8_json_string(list[i].name));
                json_dumpf(o, stdout, JSON_COMPACT);
                fputc('\n', stdout);
                json_decref(o);
            } else {
                printf("%s  %s\n", k, utf8_clean(list[i].name, shown, sizeof shown));
            }
        }
        if (!ctx.json && n == 0) {
            printf("no alert subscribers; add one with `fieldtrail-hub subscriber add KEY`\n");
        }
    } else if (strcmp(verb, "add") == 0) {
        if (at < n) {
            printf("subscriber %s is already allowed\n", hex);
        } else if (n >= SUBSCRIBERS_MAX) {
            hub_fail("the list holds %d subscribers already; remove one first", SUBSCRIBERS_MAX);
            result = 1;
        } else {
            subscriber_t *grown = realloc(list, (n + 1) * sizeof *grown);
            if (!grown) {
                result = 1;
            } else {
                list = grown;
                memset(&list[n], 0, sizeof list[n]);
                memcpy(list[n].key, key, 32);
                utf8_copy(list[n].name, sizeof list[n].name, name ? name : "-");
                n++;
                int e = subscribers_write(path, list, n);
                if (e == FT_OK) {
                    e = audit(&ctx, "subscriber_add", hex, name);
                }
                if (e != FT_OK) {
                    hub_fail("cannot allow the subscriber: %s", ft_strerror(e));
                    result = 1;
                } else {
                    printf("subscriber %s allowed; it connects with the hub key %s\n", hex,
                           "shown by `fieldtrail-hub status`");
                }
            }
        }
    } else {
        if (at == n) {
            hub_fail("subscriber %s is not on the list", hex);
            result = 1;
        } else {
            list[at] = list[n - 1];
            n--;
            int e = subscribers_write(path, list, n);
            if (e == FT_OK) {
                e = audit(&ctx, "subscriber_remove", hex, NULL);
            }
            if (e != FT_OK) {
                hub_fail("cannot remove the subscriber: %s", ft_strerror(e));
                result = 1;
            } else {
                printf("subscriber %s removed (a connected one is dropped when it next "
                       "reconnects or the hub restarts)\n",
                       hex);
            }
        }
    }
    free(list);
    hub_close(&ctx);
    return result;
}
