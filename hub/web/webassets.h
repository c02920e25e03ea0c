/* webassets.h: the dashboard's static files (hub/web/), compiled into the
 * hub at build time (hub/web/embed.cmake) so an installed hub needs no files. */
#ifndef FT_HUB_WEBASSETS_H
#define FT_HUB_WEBASSETS_H

#include <stddef.h>

/* One embedded file. */
typedef struct {
    const char *name; /* file name under hub/web/, e.g. "app.js" */
    const char *mime; /* Content-Type */
    const unsigned char *data;
    size_t len;
} webasset_t;

/* The asset called name, or NULL. */
const webasset_t *webassets_find(const char *name);

#endif
