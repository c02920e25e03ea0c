/* inbox.h: the vehicle's inbox, where docks drop what recorders recorded:
 * which paths are taken, when a file is complete, and when it leaves
 * (docs/media.md "The inbox"). The ingest of one file is edge/ingest.h.
 *
 * What is taken: regular files with one link inside INBOX/<recorder>/, in
 * sub-folders too (a dock copies DCIM/100MEDIA/ as it is). The walk opens
 * every folder relative to the one holding it with O_NOFOLLOW | O_DIRECTORY
 * and every file with O_NOFOLLOW, so a symbolic link is never followed and
 * nothing outside the inbox is ever read; a file is removed with unlinkat
 * on its folder, and only if the name still names the inode that was
 * ingested, unchanged. Refused, once per (path, inode), with one log line
 * and one signed `ingest_refused` event, and never removed: symbolic links
 * (to files or folders), FIFOs, devices, sockets, files with more than one
 * hard link (they may be a file outside the inbox), files outside a
 * recorder folder, folders nested deeper than INBOX_MAX_DEPTH. Names
 * starting with '.' and ending in .json .done .part .tmp are not media.
 *
 * When a file is complete, strongest word first:
 *   declared  a sidecar NAME.json that parses as a whole JSON object, a
 *             marker NAME.done, or the file was renamed into the inbox
 *             (inotify IN_MOVED_TO): taken at once, removed right after its
 *             manifest commits.
 *   closed    inotify IN_CLOSE_WRITE and no change since: taken at once.
 *   stable    size and mtime unchanged for media.stable_ms: taken.
 *   Closed and stable files stay in the inbox until they have not changed
 *   for media.settle_ms: a writer that reopens the file after a stall adds
 *   to it, and the file is ingested again in full (the new manifest names
 *   the first as superseded, edge/ingest.h). Never taken while another
 *   process holds the file open for writing (ingest_writer_probe), and a
 *   sidecar that does not parse holds its clip back until it does (or,
 *   still broken after media.settle_ms, is refused and the clip taken
 *   without it).
 *
 * Per file, by its progress row (edge/mstore.h) and its inbox row:
 *   no row, complete, no writer  -> ingest_fd            (inbox_scan)
 *   DONE, unchanged, may leave   -> unlinkat file, sidecar, marker; row gone
 *   DONE, changed since          -> ingest_fd again (supersedes)
 *   ingest failed                -> FAILED row + one `ingest_failed` event per
 *                                   (path, inode, size, mtime); tried again
 *                                   after 1 min, doubling to 1 h
 *   path gone or another inode   -> its inbox row dropped (end of a pass)
 * `status` lists the refused and failing paths with their reasons.
 */
#ifndef FT_EDGE_INBOX_H
#define FT_EDGE_INBOX_H

#include "ingest.h"

#include <jansson.h>
#include <signal.h>

/* Folders below a recorder folder that are walked. */
#define INBOX_MAX_DEPTH 8
/* First retry of a failed file, and the longest wait between retries. */
#define INBOX_RETRY_MS 60000
#define INBOX_RETRY_MAX_MS 3600000

typedef struct inbox_t inbox_t;

/* What one pass did. */
typedef struct {
    unsigned stored;  /* new manifests (not duplicates) */
    unsigned removed; /* files that left the inbox */
    unsigned waiting; /* files left for a later pass: incomplete, open, settling */
    unsigned refused; /* paths refused for the first time */
    unsigned failed;  /* files whose ingest failed for the first time */
} inbox_stats_t;

/* in is borrowed; root is the inbox (created if missing by inbox_watch).
 * FT_OK or FT_ENOMEM. */
int inbox_new(ingest_t *in, const char *root, inbox_t **out) FT_MUST_CHECK;
void inbox_destroy(inbox_t **ib_p);

/* One pass over the inbox (see above). FT_OK, FT_EFULL (stopped: storage
 * full), FT_ETIMEOUT (stopped by the stop flag), FT_EIO (the inbox itself
 * cannot be opened). Problems with single files are not errors of the
 * pass: they are refused or failed rows. stats may be NULL. */
int inbox_scan(inbox_t *ib, inbox_stats_t *stats) FT_MUST_CHECK;

/* Watches the inbox with inotify (every folder in it) and scans it after
 * changes and every second, until *stop; prunes acked media by age (media
 * keep_days) once a minute. FT_OK on stop. */
int inbox_watch(inbox_t *ib, volatile sig_atomic_t *stop) FT_MUST_CHECK;

/* The refused and failing paths, for `status`: [{"kind":"refused"|"failed",
 * "path", "recorder", "reason", "since_ms", "tries", "next_try_ms"}]. */
json_t *inbox_problems_json(mstore_t *m);

#endif
