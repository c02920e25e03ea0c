/* cmd_user.c: `fieldtrail-hub user`: dashboard users (hub/web/users.h).
 *
 *   user add NAME --role R     password from standard input (one line) or,
 *                              on a terminal, asked twice without echo
 *   user passwd NAME           new password, the same way; ends sessions
 *   user role NAME --role R [--disable | --enable]
 *   user list [--json]
 * Each change is also an AuditEvent in the hub's own log (by the operating
 * system user who ran the command).
 *
 * With --store postgresql://... (or `store` in the config), the users of the
 * provincial dashboard in the provincial database (provweb.h), each with
 * the units they see:
 *   user add --store URL NAME --role R (--unit U[,U2...] | --all-units)
 *   user passwd --store URL NAME
 *   user remove --store URL NAME    (their sessions end on every node)
 *   user list --store URL [--json]
 * each change an entry of ft.web_audit by cli:USER.
 */
#include "fsutil.h"
#include "hlc.h"
#include "hub.h"
#include "pg.h"
#include "provweb.h"
#include "users.h"

#include <jansson.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void user_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-hub user add NAME --role ROLE [--state DIR]\n"
            "       fieldtrail-hub user passwd NAME [--state DIR]\n"
            "       fieldtrail-hub user role NAME --role ROLE [--disable | --enable]\n"
            "       fieldtrail-hub user list [--state DIR] [--json]\n\n"
            "Manages the users of the web dashboard. ROLE is staff (sync, devices,\n"
            "search, timelines, playback), supervisor (also alerts justification,\n"
            "compliance, audit log, export) or admin (also enrolment, revocation, users).\n"
            "The password (at least %d characters) is read from standard input, one\n"
            "line, or asked for twice when standard input is a terminal. Create the\n"
            "first admin with `user add NAME --role admin`.\n\n"
            "On a provincial node (docs/province.md \"Dashboard\"):\n"
            "       fieldtrail-hub user add --store URL NAME --role ROLE\n"
            "                               (--unit UNIT[,UNIT...] | --all-units)\n"
            "       fieldtrail-hub user passwd --store URL NAME\n"
            "       fieldtrail-hub user remove --store URL NAME\n"
            "       fieldtrail-hub user list --store URL [--json]\n"
            "A provincial user sees the alerts, cases and counties of their units only\n"
            "(units as the counties enrolled the devices), or of every unit.\n",
            USER_PASSWORD_MIN);
}

static int read_password(char *pw, size_t len)
{
    int rc = cli_read_secret("password: ", pw, len);
    if (rc == FT_ENOTFOUND) {
        hub_fail("no password given on standard input");
        return 1;
    }
    if (rc != FT_OK) {
        hub_fail("the two passwords differ; nothing was changed");
        return 1;
    }
    if (strlen(pw) < USER_PASSWORD_MIN) {
        hub_fail("a password needs at least %d characters", USER_PASSWORD_MIN);
        return 1;
    }
    return 0;
}

static const char *os_user(void)
{
    const char *u = getenv("USER");
    if (u && *u) {
        return u;
    }
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : "unknown";
}

static int audit(hub_ctx_t *ctx, const char *action, const char *target, const char *detail)
{
    char who[128];
    snprintf(who, sizeof who, "cli:%s", os_user());
    return devlog_append1_audit(ctx->hublog, who, action, target, detail, NULL);
}

static int list_one(void *ctx, const user_t *u)
{
    bool json = *(bool *)ctx;
    char created[48];
    hub_time_text(u->created_ms, created, sizeof created);
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:b, s:s}", "name", u->name, "role",
                              user_role_name(u->role), "disabled", u->disabled, "created", created);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        cli_time(u->created_ms, created, sizeof created); /* local, with its offset */
        printf("%-24s %-11s %-9s %s\n", hub_text(u->name), user_role_name(u->role),
               u->disabled ? "disabled" : "active", created);
    }
    return 0;
}

static void prov_list_one(void *ctx, const provweb_user_t *u)
{
    bool json = *(bool *)ctx;
    char created[48];
    if (json) {
        hub_time_text(u->created_ms, created, sizeof created);
        json_t *units = json_array();
        for (const char *p = u->units; *p && !u->all_units;) {
            size_t n = strcspn(p, "\n");
            json_array_append_new(units, json_stringn(p, n));
            p += n + (p[n] == '\n');
        }
        json_t *o = json_pack("{s:s, s:s, s:b, s:o, s:b, s:s}", "name", u->name, "role",
                              user_role_name(u->role), "all_units", u->all_units, "units",
                              u->all_units ? json_null() : units, "disabled", u->disabled,
                              "created", created);
        if (u->all_units) {
            json_decref(units);
        }
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
        return;
    }
    cli_time(u->created_ms, created, sizeof created);
    printf("%-24s %-11s %-9s %s  units: ", hub_text(u->name), user_role_name(u->role),
           u->disabled ? "disabled" : "active", created);
    if (u->all_units) {
        printf("all\n");
        return;
    }
    for (const char *p = u->units; *p;) {
        size_t n = strcspn(p, "\n");
        printf("%s%.*s", p == u->units ? "" : ", ", (int)n, p);
        p += n + (p[n] == '\n');
    }
    printf("\n");
}

/* The `user` verbs on the provincial database at url. Exit status. */
static int prov_user(hub_ctx_t *ctx, const char *url, const char *verb, const char *name,
                     user_role role, const char *unit_text, bool all_units)
{
    char units[SESSION_UNITS_MAX] = "", err[PG_ERR_MAX];
    if (strcmp(verb, "add") == 0) {
        if (!unit_text == !all_units) {
            hub_fail("give the units user %s sees: --unit UNIT[,UNIT...] (as the counties "
                     "enrolled the devices) or --all-units",
                     name);
            return 2;
        }
        if (unit_text &&
            provweb_units_parse(unit_text, units, sizeof units, err, sizeof err) != FT_OK) {
            hub_fail("%s", err);
            return 2;
        }
    }
    char who[128];
    snprintf(who, sizeof who, "cli:%s", os_user());
    provweb_t *pw = NULL;
    if (provweb_open(url, who, &pw, err, sizeof err) != FT_OK) {
        hub_fail("%s", err);
        return 1;
    }
    int status = 1;
    char pw_text[USER_PASSWORD_MAX + 2] = "";
    if (strcmp(verb, "list") == 0) {
        if (provweb_user_list(pw, prov_list_one, &ctx->json, err, sizeof err) == FT_OK) {
            status = 0;
        } else {
            hub_fail("cannot read the users: %s", err);
        }
    } else if (strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0) {
        bool add = strcmp(verb, "add") == 0;
        if (read_password(pw_text, sizeof pw_text) == 0) {
            char detail[SESSION_UNITS_MAX + 64];
            snprintf(detail, sizeof detail, "role=%s units=%s", user_role_name(role),
                     all_units ? "all" : units);
            for (char *c = detail; *c; c++) {
                *c = *c == '\n' ? ',' : *c;
            }
            int err_code = provweb_audit(pw, who, add ? "user_add" : "user_passwd", name,
                                         add ? detail : "", err, sizeof err);
            if (err_code == FT_OK) {
                err_code = add ? provweb_user_add(pw, name, role, all_units, units, pw_text, err,
                                                  sizeof err)
                               : provweb_user_passwd(pw, name, pw_text, err, sizeof err);
            }
            if (err_code == FT_OK && add) {
                printf("added user %s (%s) of %s\n", name, user_role_name(role),
                       all_units ? "every unit" : unit_text);
                status = 0;
            } else if (err_code == FT_OK) {
                printf("password of %s changed; their sessions ended on every node\n", name);
                status = 0;
            } else if (err_code == FT_EEXIST) {
                hub_fail("user %s exists; change the password with `user passwd --store URL %s`",
                         name, name);
            } else if (err_code == FT_ENOTFOUND) {
                hub_fail("no user %s; add one with `user add --store URL %s --role ROLE "
                         "--unit UNIT`",
                         name, name);
            } else {
                hub_fail("cannot %s user %s: %s", add ? "add" : "change the password of", name,
                         err);
            }
        }
    } else {
        int err_code = provweb_audit(pw, who, "user_remove", name, "", err, sizeof err);
        if (err_code == FT_OK) {
            err_code = provweb_user_remove(pw, name, err, sizeof err);
        }
        if (err_code == FT_OK) {
            printf("removed user %s; their sessions ended on every node\n", name);
            status = 0;
        } else if (err_code == FT_ENOTFOUND) {
            hub_fail("no user %s", name);
        } else {
            hub_fail("cannot remove user %s: %s", name, err);
        }
    }
    sodium_memzero(pw_text, sizeof pw_text);
    provweb_close(&pw);
    return status;
}

int hub_cmd_user(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    const char *role_text = NULL, *store = NULL, *unit_text = NULL;
    int disable = -1;
    bool all_units = false;
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"role", required_argument, NULL, 'r'},
        {"disable", no_argument, NULL, 'd'},
        {"enable", no_argument, NULL, 'e'},
        {"store", required_argument, NULL, 'P'},
        {"unit", required_argument, NULL, 'u'},
        {"all-units", no_argument, NULL, 'A'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (hub_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'r':
            role_text = optarg;
            break;
        case 'd':
            disable = 1;
            break;
        case 'e':
            disable = 0;
            break;
        case 'P':
            store = optarg;
            break;
        case 'u':
            unit_text = optarg;
            break;
        case 'A':
            all_units = true;
            break;
        case 'h':
            user_usage(stdout);
            return 0;
        default:
            user_usage(stderr);
            return 2;
        }
    }
    int n_pos = argc - optind;
    const char *verb = n_pos >= 1 ? argv[optind] : NULL;
    const char *name = n_pos >= 2 ? argv[optind + 1] : NULL;
    bool ok = verb && ((strcmp(verb, "list") == 0 && n_pos == 1) ||
                       (strcmp(verb, "add") == 0 && n_pos == 2 && role_text) ||
                       (strcmp(verb, "passwd") == 0 && n_pos == 2) ||
                       (strcmp(verb, "remove") == 0 && n_pos == 2) ||
                       (strcmp(verb, "role") == 0 && n_pos == 2 && (role_text || disable >= 0)));
    if (!ok) {
        user_usage(stderr);
        return 2;
    }
    user_role role = role_text ? user_role_parse(role_text) : ROLE_NONE;
    if (role_text && role == ROLE_NONE) {
        hub_fail("role \"%s\" is not one of staff, supervisor, admin", hub_text(role_text));
        return 2;
    }
    if (name && !user_name_valid(name)) {
        hub_fail("user name \"%s\": use 1 to 63 letters, digits, '.', '_', '-' or '@'",
                 hub_text(name));
        return 2;
    }
    if (!store) {
        /* a config's `store` makes it the provincial dashboard's users too */
        if (hub_load_config(&ctx) != 0) {
            hub_close(&ctx);
            return 1;
        }
        store = hub_store_url(&ctx, NULL);
    }
    if (store) {
        int rc = 2;
        if (!pg_is_url(store)) {
            hub_fail("store %s is not a PostgreSQL URL (postgresql://USER@HOST:PORT/DB)",
                     hub_text(store));
        } else if (strcmp(verb, "role") == 0) {
            hub_fail("on a provincial node, remove the user and add them again with the new "
                     "role and units");
        } else {
            rc = prov_user(&ctx, store, verb, name, role, unit_text, all_units);
        }
        hub_close(&ctx);
        return rc;
    }
    if (strcmp(verb, "remove") == 0) {
        hub_fail("user remove is for the users of a provincial node (--store URL); on a county "
                 "hub, disable a user with `user role %s --disable`",
                 name);
        hub_close(&ctx);
        return 2;
    }
    config_destroy(&ctx.cfg); /* hub_open loads it again */
    if (unit_text || all_units) {
        hub_fail("--unit and --all-units are for the users of a provincial node (--store URL)");
        hub_close(&ctx);
        return 2;
    }
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    char dir[4096];
    users_t *users = NULL;
    int err = fsutil_join(dir, sizeof dir, ctx.state, "web");
    if (err == FT_OK) {
        err = users_open(dir, &users);
    }
    if (err != FT_OK) {
        hub_fail("cannot open the user database in %s/web: %s", ctx.state, ft_strerror(err));
        hub_close(&ctx);
        return 1;
    }
    int status = 1;
    char pw[USER_PASSWORD_MAX + 2] = "";
    if (strcmp(verb, "list") == 0) {
        size_t n = 0;
        err = users_count(users, &n);
        if (err == FT_OK && !ctx.json && n == 0) {
            printf("no users; add the first admin with `fieldtrail-hub user add NAME --role "
                   "admin`\n");
        }
        if (err == FT_OK) {
            err = users_iter(users, list_one, &ctx.json);
        }
        status = err == FT_OK ? 0 : 1;
        if (err != FT_OK) {
            hub_fail("cannot read the users: %s", ft_strerror(err));
        }
    } else if (strcmp(verb, "add") == 0) {
        user_t existing;
        if (users_get(users, name, &existing) == FT_OK) {
            hub_fail("user %s exists; change the password with `user passwd %s`", name, name);
        } else if (read_password(pw, sizeof pw) == 0) {
            err = audit(&ctx, "user_add", name, user_role_name(role));
            if (err == FT_OK) {
                err = users_add(users, name, role, pw, (int64_t)hlc_wall_ms());
            }
            if (err == FT_OK) {
                printf("added user %s (%s)\n", name, user_role_name(role));
                status = 0;
            } else {
                hub_fail("cannot add user %s: %s", name, ft_strerror(err));
            }
        }
    } else if (strcmp(verb, "passwd") == 0) {
        user_t u;
        if (users_get(users, name, &u) != FT_OK) {
            hub_fail("no user %s; add one with `user add %s --role ROLE`", name, name);
        } else if (read_password(pw, sizeof pw) == 0) {
            err = audit(&ctx, "user_passwd", name, NULL);
            if (err == FT_OK) {
                err = users_set_password(users, name, pw);
            }
            if (err == FT_OK) {
                printf("password of %s changed; their sessions ended\n", name);
                status = 0;
            } else {
                hub_fail("cannot change the password of %s: %s", name, ft_strerror(err));
            }
        }
    } else {
        user_t u;
        if (users_get(users, name, &u) != FT_OK) {
            hub_fail("no user %s", name);
        } else {
            user_role nr = role != ROLE_NONE ? role : u.role;
            bool dis = disable >= 0 ? disable == 1 : u.disabled;
            char detail[64];
            snprintf(detail, sizeof detail, "role=%s disabled=%d", user_role_name(nr), dis);
            err = audit(&ctx, "user_change", name, detail);
            if (err == FT_OK) {
                err = users_set_role(users, name, nr, dis);
            }
            if (err == FT_OK) {
                printf("user %s: %s, %s\n", name, user_role_name(nr), dis ? "disabled" : "active");
                status = 0;
            } else {
                hub_fail("cannot change user %s: %s", name, ft_strerror(err));
            }
        }
    }
    sodium_memzero(pw, sizeof pw);
    users_destroy(&users);
    hub_close(&ctx);
    return status;
}
