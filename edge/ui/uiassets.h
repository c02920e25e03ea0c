/* uiassets.h: the screen's pages (edge/ui/www/), compiled into
 * fieldtrail-edge at build time (edge/ui/embed.cmake), so that a vehicle
 * needs no files and no network to show them. */
#ifndef FT_EDGE_UIASSETS_H
#define FT_EDGE_UIASSETS_H

#include <stddef.h>

/* One embedded file. */
typedef struct {
    const char *name; /* file name under edge/ui/www/, e.g. "app.js" */
    const char *mime; /* Content-Type */
    const unsigned char *data;
    size_t len;
} uiasset_t;

/* The file called name, or NULL. */
const uiasset_t *uiassets_find(const char *name);

#endif
