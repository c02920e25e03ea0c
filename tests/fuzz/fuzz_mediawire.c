/* fuzz_mediawire.c: libFuzzer target for every decoder of
 * common/mediawire.h: a media transfer message (mwire_decode) and a signed
 * completion receipt (mwire_receipt_open).
 *
 * Pins: no input crashes, leaks or reads out of bounds; a decoded message
 * re-encodes to bytes that decode to the same kind; a receipt never verifies
 * under a second key (the seeds are signed by a fixed test key). The body is
 * fuzz_codec.h.
 */
#include "mediawire.h"

#define FUZZ_KEY_SEED 3
#define FUZZ_MSG_T mwire_msg_t
#define FUZZ_RECEIPT_T mwire_receipt_t
#define FUZZ_DECODE mwire_decode
#define FUZZ_ENCODE mwire_encode
#define FUZZ_FREE mwire_msg_free
#define FUZZ_KIND_NAME mwire_kind_name
#define FUZZ_RECEIPT_OPEN mwire_receipt_open
#define FUZZ_KIND_RECEIPT MWIRE_RECEIPT
#define FUZZ_RECEIPT_RAW(m) ((m).u.receipt.raw)
#define FUZZ_RECEIPT_LEN(m) ((m).u.receipt.len)

#include "fuzz_codec.h"
