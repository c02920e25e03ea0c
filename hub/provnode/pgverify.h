/* pgverify.h: `fieldtrail-hub verify` against a provincial PostgreSQL
 * store: reads every county's forwarded rows (schema `ft`,
 * hub/province/schema.sql) in the order pverify.h asks for and has each
 * entry re-verified there; then checks that every row a county's checkpoint
 * says it forwarded is still there (its arrival numbers are dense from 1,
 * its hub log reaches the checkpoint's seq), so a row deleted by hand is
 * named too. Read-only: one snapshot (REPEATABLE READ), safe while
 * forwarders write. */
#ifndef FT_PGVERIFY_H
#define FT_PGVERIFY_H

#include "pg.h"
#include "pverify.h"

/* Verifies every county. FT_OK when the verdict is complete (bad entries
 * reported through report, counted in st), else FT_EIO/FT_ENOMEM with err. */
int pgverify_run(PGconn *c, pverify_report_fn report, void *ctx, pverify_stats_t *st, char *err,
                 size_t errlen) FT_MUST_CHECK;

#endif
