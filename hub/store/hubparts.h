/* hubparts.h: the open hub as the hub's libraries borrow it: the state
 * directory, the config, the keys, the store and the hub's own log.
 *
 * The commands open them (hub/cmd/hub.h: hub_open) and hand the pieces to a
 * library (retention, bundles, the web server) in one of these; a library
 * never sees the commands' context. Everything is borrowed: it must outlive
 * whatever it was given to.
 */
#ifndef FT_HUB_PARTS_H
#define FT_HUB_PARTS_H

#include "devlog.h"
#include "keys.h"
#include "store.h"

struct config_t;         /* common/cli/config.h */
struct blobstore_conf_t; /* hub/media/blobstore.h */

typedef struct {
    const char *state;                    /* the state directory */
    const struct config_t *cfg;           /* the loaded config (may be NULL) */
    const keys_t *keys;                   /* the hub's keys */
    store_t *store;                       /* the hub store */
    devlog_t *hublog;                     /* the hub's own log (NULL if not opened) */
    const struct blobstore_conf_t *blobs; /* where media blobs live (NULL: the directory) */
} hub_parts_t;

#endif
