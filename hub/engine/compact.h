/* compact.h: the compact form of a record, kept in the case index beside
 * the record's item row (docs/alerts.md "The compact form").
 *
 * The gap rules (hub/gaps/gaps.c) read, of a record: its type, id, amends,
 * media_unsuitable, officers, recorders, media and its `fields` (whether
 * each is present, a number in it, the text of a few). The index keeps
 * exactly that, taken once when the entry is indexed, so that an evaluation
 * reads one index row per record instead of the stored entry (an LMDB read
 * in the store, a protobuf decode of the whole signed entry and, for JSON
 * fields, a JSON parse to tell an empty value from a present one).
 *
 * compact_decode gives back an Ft__Record holding those members (every
 * other member NULL / empty), which gaps.c reads as it reads a decoded
 * record: the rules give the same answer for it as for the record it was
 * made from (compact_test.c and engine_test.c check that). The one change:
 * a `fields` value of JSON comes back as a flag (true) when the JSON holds
 * something and as a value-less field when it is empty (null, [] or {}),
 * which is all record_field_present and the rules ask of it.
 *
 * Layout (every integer big-endian, a string is a u32 length and its bytes,
 * length 0xFFFFFFFF for an absent string):
 *   u8 COMPACT_VERSION | u32 type | str id | str amends | str media_unsuitable
 *   | u32 n, str x n officers | u32 n, str x n recorders | u32 n, str x n media
 *   | u32 n fields, each: str key | u8 kind (0 none, 1 text, 2 flag, 3 number)
 *                         | text: str; flag: u8; number: u64 (IEEE 754 bits)
 * A record whose compact form would pass COMPACT_MAX_BYTES gets none: the
 * engine then reads that one record from the store (never a shortened form).
 */
#ifndef FT_HUB_COMPACT_H
#define FT_HUB_COMPACT_H

#include "entry.pb-c.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define COMPACT_VERSION 1
#define COMPACT_MAX_BYTES 16384

/* The compact form of rec into buf[cap]: its length, or 0 when it does not
 * fit in cap or in COMPACT_MAX_BYTES (then there is none). */
size_t compact_encode(const Ft__Record *rec, uint8_t *buf, size_t cap);
/* A record made from a compact form, in one allocation (free() it).
 * FT_OK, FT_ENOMEM, or FT_ECORRUPT for bytes that are not a compact form of
 * this version (nothing is read past n). */
int compact_decode(const uint8_t *p, size_t n, Ft__Record **out) FT_MUST_CHECK;

#endif
