/* utf8.h: text in fixed buffers and on display. This module owns the one rule
 * fieldtrail has for text (docs/media.md "Text"):
 *
 *   - text is never cut inside a UTF-8 character: a copy into a fixed buffer
 *     that must cut backs off to the last complete character, and never
 *     leaves a sequence that was cut at its end (utf8_copy, utf8_prefix);
 *     utf8_trim mends what a truncating snprintf left;
 *   - text that is not valid UTF-8 (a string an old edge cut mid-character,
 *     a foreign protobuf) is shown escaped, each invalid byte as \xNN and
 *     every valid character as it is, never dropped (utf8_escape,
 *     utf8_show, utf8_json_string).
 *
 * Valid means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF),
 * nothing above U+10FFFF; the same set jansson accepts, so a string this
 * module passes or makes is always a JSON string. The escaped form is for
 * display only: the stored bytes stay in the signed entry.
 */
#ifndef FT_UTF8_H
#define FT_UTF8_H

#include "error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Bytes one invalid byte takes in the escaped form ("\xE4"). */
#define UTF8_ESCAPE_BYTES 4

/* The length (1 to 4) of the valid character s starts with, given n bytes
 * of s; 0 when s does not start one (an invalid byte, or a character that
 * does not fit in n). */
size_t utf8_char_len(const char *s, size_t n);

/* True if s[0..n) is valid UTF-8. */
bool utf8_valid(const char *s, size_t n);
/* The same for a C string; NULL counts as valid. */
bool utf8_valid_str(const char *s);

/* The length of s[0..n) cut to at most max bytes: n when it fits (the text
 * as it is, whatever it holds); else the longest prefix that neither cuts a
 * character nor ends in an incomplete one (a lead byte and fewer
 * continuation bytes than it announces: a cut sequence, or a lone lead byte
 * the text held just before the cut). Other invalid bytes are kept (they
 * are shown escaped). */
size_t utf8_prefix(const char *s, size_t n, size_t max);

/* Copies src (NULL = "") into dst, cap bytes with the NUL (cap >= 1):
 * all of it, byte for byte, when it fits, else utf8_prefix of it. True if
 * all of src was copied, false if it was cut. */
bool utf8_copy(char *dst, size_t cap, const char *src);
/* The same from n bytes of src (no NUL needed; a NUL in them ends the copy). */
bool utf8_copyn(char *dst, size_t cap, const char *src, size_t n);
/* For printf's "%.*s": how many bytes of s (NULL: 0) to print so that at
 * most max are, the text cut as utf8_prefix cuts it, never inside a
 * character (a precision such as "%.40s" cuts anywhere). */
int utf8_fit(const char *s, size_t max);
/* Drops an incomplete character at the end of s, such as a truncating
 * snprintf leaves (or text cut before it was given), as utf8_prefix does
 * at a cut; true if it dropped one. */
bool utf8_trim(char *s);

/* Length of the escaped form of s[0..n), without the NUL. */
size_t utf8_escaped_len(const char *s, size_t n);
/* The escaped form of s (NULL = "") in a new string (*out, caller frees).
 * FT_OK or FT_ENOMEM (*out NULL). */
int utf8_escape(const char *s, char **out) FT_MUST_CHECK;
/* The escaped form of s into dst (cap bytes with the NUL, cap >= 1), cut
 * at a character or escape boundary when it does not fit; true if all of
 * it fitted. */
bool utf8_escape_to(char *dst, size_t cap, const char *s);
/* The bytes an escaped form stands for: each \xNN (two hex digits) becomes
 * that byte, everything else stays (*out, caller frees). For text a user
 * typed as a listing showed it, to find the stored bytes; a \x00 is left as
 * it is. FT_OK or FT_ENOMEM (*out NULL). */
int utf8_unescape(const char *s, char **out) FT_MUST_CHECK;
/* For printing: s itself when it is valid UTF-8, else its escaped form in
 * buf (utf8_escape_to); "" for NULL. Never NULL. */
const char *utf8_show(const char *s, char *buf, size_t cap);

/* For a terminal or a log line: like utf8_escape, and every control
 * character (C0 such as newline and ESC, DEL, C1 U+0080..U+009F) written as
 * \xNN per byte too, so text a user supplied can neither start a line of
 * its own nor drive the terminal. utf8_unescape gives the bytes back. */
bool utf8_clean_to(char *dst, size_t cap, const char *s);
/* True if s holds an invalid byte or a control character. */
bool utf8_clean_needed(const char *s);
/* s itself when nothing in it needs escaping, else utf8_clean_to into buf;
 * "" for NULL. Never NULL. */
const char *utf8_clean(const char *s, char *buf, size_t cap);

/* A JSON string for s: s when it is valid UTF-8, else its escaped form.
 * NULL only for s NULL or out of memory: never for text (jansson's
 * json_string is NULL for invalid UTF-8, and json_pack "s" fails). */
json_t *utf8_json_string(const char *s);
/* obj[key] = value (the reference is taken, also on failure), the key
 * escaped when it is not valid UTF-8. FT_OK, FT_EINVAL (obj not an object,
 * value NULL) or FT_ENOMEM. */
int utf8_json_set_new(json_t *obj, const char *key, json_t *value) FT_MUST_CHECK;
/* obj[key] by the same escaping of the key; NULL when absent. */
json_t *utf8_json_get(const json_t *obj, const char *key);

#endif
