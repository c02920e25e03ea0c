/* subscribers.h: who may subscribe to the alert PUB socket.
 *
 * The PUB socket is a CurveZMQ server with the hub's transport key; a
 * subscriber completes the handshake only with a client key on the hub's
 * allow-list, STATE/subscribers (one key a line: 64 hex digits, a space,
 * the name staff gave it; '#' starts a comment), kept by
 * `fieldtrail-hub subscriber add|remove|list`. The ZAP handler of the PUB
 * socket's context (a thread of its own, domain "alerts") reads the file
 * again whenever it changed, so a key added or removed counts from the next
 * handshake on, without a restart (a subscriber already connected stays
 * until it reconnects; a restart of the hub drops it).
 *
 * Refused handshakes are counted per key (common/zmq/zrefuse.h): the first
 * of each key is logged (at most 10 a minute), and every minute in which
 * some were refused gives one AuditEvent "connection_refused" (target
 * "alerts") in the hub log.
 */
#ifndef FT_HUB_SUBSCRIBERS_H
#define FT_HUB_SUBSCRIBERS_H

#include "devlog.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define SUBSCRIBERS_FILE "subscribers"
#define SUBSCRIBERS_ZAP_DOMAIN "alerts"
#define SUBSCRIBERS_MAX 1024
#define SUBSCRIBER_NAME_MAX 128

typedef struct {
    uint8_t key[32];                /* CURVE client public key */
    char name[SUBSCRIBER_NAME_MAX]; /* who it is, for people */
} subscriber_t;

/* Reads an allow-list. A missing file is an empty list (FT_OK, n 0).
 * FT_ECORRUPT with a sentence in err for a line that does not parse.
 * *out is malloc'd (NULL when n is 0). */
int subscribers_read(const char *path, subscriber_t **out, size_t *n, char *err,
                     size_t errlen) FT_MUST_CHECK;
/* Writes an allow-list atomically (mode 0600). */
int subscribers_write(const char *path, const subscriber_t *s, size_t n) FT_MUST_CHECK;
/* Parses a key: 64 hex digits. FT_OK or FT_EINVAL. */
int subscribers_parse_key(const char *text, uint8_t key[32]) FT_MUST_CHECK;

typedef struct subscribers_zap_t subscribers_zap_t;

/* Binds the ZAP handler of context zctx (before the PUB socket binds) and
 * starts its thread; path is the allow-list; hublog (may be NULL) gets the
 * aggregated audit entries. FT_OK, FT_EIO, FT_ENOMEM. */
int subscribers_zap_start(void *zctx, const char *path, devlog_t *hublog,
                          subscribers_zap_t **out) FT_MUST_CHECK;
/* Stops the thread (the last refusal counts are audited). Safe on NULL. */
void subscribers_zap_stop(subscribers_zap_t **z_p);

#endif
