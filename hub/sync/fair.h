/* fair.h: the order in which the sync loop serves the messages it took from
 * its socket in one drain: fair share by round robin over the connections
 * they came from, rather than order of arrival, so that no edge waits
 * behind another's whole backlog.
 *
 * fair_order(conn, n, rank, order): conn[i] names the connection of message
 * i (equal numbers = same connection); order[] receives the n indices in
 * serving order: the first message of every connection (connections in the
 * order their first message arrived), then the second of every connection
 * that has one, and so on. One connection's messages keep their order.
 * rank is scratch space for n numbers.
 */
#ifndef FT_HUB_FAIR_H
#define FT_HUB_FAIR_H

#include <stddef.h>

void fair_order(const unsigned *conn, size_t n, unsigned *rank, size_t *order);

#endif
