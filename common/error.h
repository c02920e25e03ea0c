/* error.h: the one status-code enum of fieldtrail.
 *
 * Fallible functions return 0 (FT_OK) or one of these; ft_strerror() gives a
 * sentence an operator understands. Negative values so that a function may
 * also return a non-negative count.
 */
#ifndef FT_ERROR_H
#define FT_ERROR_H

#define FT_MUST_CHECK __attribute__((warn_unused_result))

typedef enum {
    FT_OK = 0,
    FT_EINVAL = -1,    /* bad argument or malformed input */
    FT_ENOMEM = -2,    /* out of memory */
    FT_EIO = -3,       /* file system or database I/O failed */
    FT_EFULL = -4,     /* storage full: LMDB map or disk */
    FT_ENOTFOUND = -5, /* no such item */
    FT_EEXIST = -6,    /* already exists */
    FT_ECORRUPT = -7,  /* stored data does not decode */
    FT_EBADSIG = -8,   /* signature does not verify */
    FT_ECHAIN = -9,    /* prev_hash does not link to the previous entry */
    FT_EGAP = -10,     /* a sequence number is missing */
    FT_ECRYPTO = -11,  /* a cryptographic operation failed */
    FT_EKEY = -12,     /* key file missing, unreadable or malformed */
    FT_EDUP = -13,     /* same ID already present with different content */
    FT_ESIGNER = -14,  /* signer is not the expected or enrolled device */
    FT_EPROTO = -15,   /* peer broke the sync protocol */
    FT_ETIMEOUT = -16, /* the operation timed out */
    FT_EREVOKED = -17, /* the device has been revoked */
    FT_EAGAIN = -18,   /* not possible right now (no connection ready, queue full) */
    FT_EPRUNED = -19,  /* the entry was pruned here: only its hash and signature are kept */
} ft_err;

/* A short sentence for an error code; never NULL, static storage. */
const char *ft_strerror(int err);

#endif
