/* casemedia.c: which media belong to a case (engine.h:
 * case_view_media_in_case).
 *
 * A case view (case_view_load) holds the case's records and every media
 * item that may document them: those that name the case and the
 * candidates that share an officer or a recorder with one of its
 * activities. Of those, the case's media are the ones that name it and the
 * ones that link to one of its records (gaps_media_links: cited by media
 * ID, or same officer or recorder with an overlapping window). The case
 * timeline (hub/cmd/cmd_timeline.c), the retention job and the case bundle
 * (hub/retention/) all ask this one function.
 */
#include "engine.h"

#include <string.h>

bool case_view_media_in_case(const case_view_t *v, size_t m)
{
    if (m >= v->c.n_media) {
        return false;
    }
    const gap_media_t *g = &v->c.media[m];
    if (g->case_id && v->c.case_id && strcmp(g->case_id, v->c.case_id) == 0) {
        return true;
    }
    for (size_t i = 0; i < v->c.n_records; i++) {
        if (gaps_media_links(&v->c.records[i], g)) {
            return true;
        }
    }
    return false;
}
