/* dmcrypt.h: is a directory on an encrypted block device (dm-crypt)?
 *
 * What a stolen unit reveals (docs/operations.md "Encrypting the state
 * directory"): log entries are encrypted at rest and pruned after the hub's
 * receipt, media leave only ciphertext, but keys, the bucket keys of recent
 * entries and the files around them are only as safe as the disk. `status`
 * warns unless the state directory sits on dm-crypt.
 *
 * How it tells: stat(2) gives the directory's device number MAJ:MIN;
 * SYSFS/dev/block/MAJ:MIN is that block device's sysfs directory. It is
 * encrypted if its dm/uuid starts with "CRYPT-" (cryptsetup names LUKS and
 * plain dm-crypt mappings so), or, recursively, one of the devices under
 * its slaves/ is (LVM on LUKS), or, for a partition, the disk it is on is.
 * No sysfs entry (device major 0: tmpfs, overlay, btrfs subvolumes, network
 * file systems) or no sysfs at all: unknown. The sysfs root is a parameter
 * so that tests can build a fake tree; the program passes "/sys".
 */
#ifndef FT_EDGE_DMCRYPT_H
#define FT_EDGE_DMCRYPT_H

#include "error.h"

#include <stdbool.h>

typedef enum {
    DMCRYPT_UNKNOWN = 0,   /* cannot tell (not a block device, no sysfs) */
    DMCRYPT_PLAIN = 1,     /* a block device without dm-crypt under it */
    DMCRYPT_ENCRYPTED = 2, /* on dm-crypt */
} dmcrypt_state;

typedef struct {
    dmcrypt_state state;
    char device[64]; /* the block device holding the path ("dm-1", "sda2"), "" if none */
    char crypt[64];  /* the dm-crypt device under it ("dm-0"), "" if none */
    char why[200];   /* for DMCRYPT_UNKNOWN: why it cannot tell */
} dmcrypt_t;

/* Checks the block device holding path. FT_OK (the verdict is in out, also
 * when it is unknown), FT_ENOTFOUND if path does not exist. */
int dmcrypt_check(const char *sysfs_root, const char *path, dmcrypt_t *out) FT_MUST_CHECK;
/* The same for device number maj:min. */
int dmcrypt_check_dev(const char *sysfs_root, unsigned maj, unsigned min,
                      dmcrypt_t *out) FT_MUST_CHECK;

#endif
