/* mediastatus.c: reading STATE/media.status (see mediastatus.h). */
#include "mediastatus.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

json_t *hub_media_pulling_json(const char *state)
{
    char path[4200], buf[HUB_MEDIA_STATUS_BYTES + 1];
    if (fsutil_join(path, sizeof path, state, HUB_MEDIA_STATUS_FILE) != FT_OK) {
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    json_t *o = NULL;
    for (int attempt = 0; attempt < 3 && !o; attempt++) { /* a read may meet a rewrite */
        ssize_t n = pread(fd, buf, HUB_MEDIA_STATUS_BYTES, 0);
        if (n <= 0) {
            break;
        }
        buf[n] = '\0';
        o = json_loads(buf, 0, NULL);
        if (o && !json_is_object(o)) {
            json_decref(o);
            o = NULL;
        }
    }
    close(fd);
    if (!o) {
        return NULL;
    }
    /* Written by a hub that is gone (killed, or its disk lost): not running. */
    json_int_t pid = json_integer_value(json_object_get(o, "pid"));
    const char *st = json_string_value(json_object_get(o, "state"));
    if (st && strcmp(st, "stopped") != 0 && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
        json_object_set_new(o, "state", json_string("stopped"));
    }
    return o;
}
