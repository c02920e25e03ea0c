/* packfile.h: the rule pack the hub sent, as the vehicle keeps it
 * (docs/vehicle.md "The rule pack"): STATE/hub.rules, written by the sync
 * link (edge/sync.c) when a Welcome brings a pack that verifies with the
 * hub's signing key, read by the screen (edge/ui/uiserver.c) before each
 * use of the rules, and used only if it verifies again, with the hub key
 * the sync link knows now.
 *
 * The file is a rule pack itself: three comment lines, then the hub's text
 * byte for byte:
 *   # fieldtrail rule pack from the hub: signed; a changed byte makes it unused
 *   # key: <the hub's Ed25519 signing key, 64 hex>
 *   # sig: <wire_pack_sign over the text, 128 hex>
 *   <the text>
 * It is written atomically (temporary file, fsync, rename), mode 0600.
 */
#ifndef FT_EDGE_PACKFILE_H
#define FT_EDGE_PACKFILE_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACKFILE_NAME "hub.rules"

/* Keeps text if sig verifies with key; a file already holding exactly
 * this is left alone (*changed false). A pack that is refused (sig NULL:
 * it came unsigned; empty; over WIRE_MAX_RULE_PACK; the signature does not
 * verify) or cannot be written leaves the pack kept before as it was, and
 * why (one line, says what stays in use) is written to why.
 * FT_OK, FT_EBADSIG (unsigned or not verifying), FT_EINVAL (empty, too
 * large), FT_EIO and the like (writing), FT_ENOMEM. */
int packfile_store(const char *state, const uint8_t *text, size_t len, const uint8_t *sig,
                   const uint8_t key[32], bool *changed, char *why, size_t whylen) FT_MUST_CHECK;
/* Reads the kept pack: FT_OK with *text (the hub's text, NUL-ended; caller
 * frees) when its signature verifies with its key and that key is want_key;
 * FT_ENOTFOUND (none kept), FT_ECORRUPT (not in the format), FT_EBADSIG
 * (changed, or signed by another key), FT_EIO, FT_ENOMEM. */
int packfile_read(const char *state, const uint8_t want_key[32], char **text) FT_MUST_CHECK;

#endif
