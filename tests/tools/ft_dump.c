/* ft_dump.c: the tests' view of what a county hub holds, to compare byte
 * for byte with what the province holds:
 *   ft_dump entries STATE   one line per stored entry: device, epoch, seq
 *                           (unsigned decimal) and the SignedEntry bytes,
 *                           all hex/decimal, separated by '|'
 *   ft_dump hublog STATE    the same for the hub's own log
 * Lines in no particular order (the caller sorts). Exit 0, or 1 with the
 * reason. */
#include "devlog.h"
#include "entry.h"
#include "keys.h"
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex_line(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
}

static int print_entry(const uint8_t *raw, size_t len)
{
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        fprintf(stderr, "ft_dump: an entry does not decode\n");
        return 1;
    }
    hex_line(v.entry->device.data, v.entry->device.len);
    printf("|%" PRIu64 "|%" PRIu64 "|", v.entry->epoch, v.entry->seq);
    hex_line(raw, len);
    putchar('\n');
    entry_view_free(&v);
    return 0;
}

static int one_entry(void *ctx, const store_entry_t *e)
{
    (void)ctx;
    return print_entry(e->raw, e->len);
}

static int one_hub(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    (void)ctx;
    (void)seq;
    return print_entry(raw, len);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ft_dump entries|hublog STATE\n");
        return 2;
    }
    char path[4096];
    if (strcmp(argv[1], "entries") == 0) {
        snprintf(path, sizeof path, "%s/db", argv[2]);
        store_t *s = NULL;
        if (store_open(path, 0, &s) != FT_OK) {
            fprintf(stderr, "ft_dump: cannot open %s\n", path);
            return 1;
        }
        int rc = store_entries_since(s, 0, one_entry, NULL);
        store_destroy(&s);
        return rc == FT_OK ? 0 : 1;
    }
    keys_t k;
    snprintf(path, sizeof path, "%s/hub.key", argv[2]);
    if (keys_load(&k, path) != FT_OK) {
        fprintf(stderr, "ft_dump: cannot load %s\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/hublog", argv[2]);
    devlog_t *log = NULL;
    if (devlog_open(path, &k, NULL, &log) != FT_OK) {
        fprintf(stderr, "ft_dump: cannot open %s\n", path);
        return 1;
    }
    int rc = devlog_iter(log, 1, 0, one_hub, NULL);
    devlog_destroy(&log);
    return rc == FT_OK ? 0 : 1;
}
