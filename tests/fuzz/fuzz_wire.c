/* fuzz_wire.c: libFuzzer target for every decoder of common/wire.h: a sync
 * message as either side receives it (wire_decode) and a SignedReceipt as
 * the edge checks it (wire_receipt_open).
 *
 * Pins: no input crashes, leaks, reads out of bounds or allocates without
 * bound; a decoded message re-encodes (wire_encode) to bytes that decode to
 * the same kind (and a batch to as many entries); a receipt never verifies
 * under a second key (the seeds are signed by a fixed test key, see
 * ft_fuzz_seeds). The body is fuzz_codec.h.
 */
#include "wire.h"

#define FUZZ_KEY_SEED 2
#define FUZZ_MSG_T wire_msg_t
#define FUZZ_RECEIPT_T wire_receipt_t
#define FUZZ_DECODE wire_decode
#define FUZZ_ENCODE wire_encode
#define FUZZ_FREE wire_msg_free
#define FUZZ_KIND_NAME wire_kind_name
#define FUZZ_RECEIPT_OPEN wire_receipt_open
#define FUZZ_KIND_RECEIPT WIRE_RECEIPT
#define FUZZ_RECEIPT_RAW(m) ((m).u.receipt.raw)
#define FUZZ_RECEIPT_LEN(m) ((m).u.receipt.raw_len)
#define FUZZ_SAME(m, again) ((m).kind != WIRE_BATCH || (again).u.batch.n == (m).u.batch.n)

#include "fuzz_codec.h"
