/* jsontext.h: the text of a JSON value exactly as
 * json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) makes it (the form the alert
 * tables and the hub log keep, docs/alerts.md), made in one pass: keys
 * sorted in place of jansson's per-object key array and sort, strings
 * copied in runs between the characters that need an escape. The gap
 * engine dumps every alert row it changes (docs/benchmarks.md). */
#ifndef FT_JSONTEXT_H
#define FT_JSONTEXT_H

#include <jansson.h>
#include <stddef.h>

/* The text (NUL-terminated; caller frees) and its length in *len (may be
 * NULL); NULL when memory runs out or j holds what json_dumps would refuse
 * (a string that is not UTF-8, nesting deeper than jansson allows). */
char *jsontext_sorted(const json_t *j, size_t *len);

#endif
