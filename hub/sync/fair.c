/* fair.c: see fair.h. n is one drain of the socket (a few dozen messages),
 * so the quadratic count of ranks costs less than a hash table would. */
#include "fair.h"

void fair_order(const unsigned *conn, size_t n, unsigned *rank, size_t *order)
{
    unsigned max_rank = 0;
    for (size_t i = 0; i < n; i++) {
        rank[i] = 0;
        for (size_t j = 0; j < i; j++) {
            rank[i] += conn[j] == conn[i];
        }
        max_rank = rank[i] > max_rank ? rank[i] : max_rank;
    }
    size_t k = 0;
    for (unsigned r = 0; r <= max_rank && k < n; r++) {
        for (size_t i = 0; i < n; i++) {
            if (rank[i] == r) {
                order[k++] = i;
            }
        }
    }
}
