/* lmdbtest.h: damage for the unit tests of what reads LMDB: an environment
 * whose scans fail half way, as a disk that returns wrong pages makes them.
 * Test builds only (ft_lmdbtest). */
#ifndef FT_LMDBTEST_H
#define FT_LMDBTEST_H

/* Points the second child of every branch page of DIR/data.mdb at a page
 * past the end of the file, so that a cursor moving onto it fails with
 * MDB_PAGE_NOTFOUND (FT_ECORRUPT) after the rows before it were read. The
 * environment must be closed. Returns the number of branch pages changed
 * (0: the databases are too small to have one), or -1 on an I/O error. */
int lmdbtest_break_branches(const char *dir);

#endif
