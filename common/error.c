/* error.c: sentences for ft_err codes. */
#include "error.h"

const char *ft_strerror(int err)
{
    switch (err) {
    case FT_OK:
        return "success";
    case FT_EINVAL:
        return "invalid input";
    case FT_ENOMEM:
        return "out of memory";
    case FT_EIO:
        return "input/output error in the state directory";
    case FT_EFULL:
        return "storage is full (database map or disk); free space or raise map_size_mb";
    case FT_ENOTFOUND:
        return "not found";
    case FT_EEXIST:
        return "already exists";
    case FT_ECORRUPT:
        return "stored data is corrupt";
    case FT_EBADSIG:
        return "bad signature";
    case FT_ECHAIN:
        return "broken hash chain";
    case FT_EGAP:
        return "missing sequence number";
    case FT_ECRYPTO:
        return "cryptographic operation failed";
    case FT_EKEY:
        return "key file missing or malformed";
    case FT_EDUP:
        return "same ID already present with different content";
    case FT_ESIGNER:
        return "signed by an unexpected or unenrolled device";
    case FT_EPROTO:
        return "protocol violation by the peer";
    case FT_ETIMEOUT:
        return "timed out";
    case FT_EREVOKED:
        return "device revoked";
    case FT_EAGAIN:
        return "not possible right now; tried again later";
    case FT_EPRUNED:
        return "the entry was pruned on this unit (only its hash and signature are kept)";
    default:
        return "unknown error";
    }
}
