/* ft_s3: the objstore tests' S3 tool, built on the hub's own client
 * (hub/objstore/s3.h), so that a test can set up a bucket, look at what
 * landed and send requests the hub never would (a wrong payload hash or
 * MD5). Store from the environment: FT_S3_ENDPOINT, FT_S3_BUCKET,
 * FT_S3_REGION, FT_S3_ACCESS_KEY, FT_S3_SECRET_KEY.
 *
 *   ft_s3 mkbucket [lock]       create the bucket (with Object Lock)
 *   ft_s3 put KEY FILE [badsha|badmd5]   PUT a file (If-None-Match: *)
 *   ft_s3 get KEY OUT           GET into OUT
 *   ft_s3 head KEY              prints the size; exit 3 when absent
 *   ft_s3 retention KEY         prints the object's retention XML
 *   ft_s3 legalhold KEY         prints the object's legal hold XML
 *   ft_s3 list PREFIX           prints the keys under PREFIX
 * Exit 0 on success, 1 on a refusal (the store's answer on stderr). */
#include "s3.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *env(const char *k)
{
    const char *v = getenv(k);
    if (!v || !*v) {
        fprintf(stderr, "ft_s3: %s is not set\n", k);
        exit(2);
    }
    return v;
}

static int report(int err, const s3_res_t *res)
{
    char t[400];
    s3_res_text(res, t, sizeof t);
    if (err != FT_OK) {
        fprintf(stderr, "ft_s3: refused: %s (%s)\n", t, ft_strerror(err));
        return err == FT_ENOTFOUND ? 3 : 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: ft_s3 mkbucket|put|get|head|retention|legalhold|list ...\n");
        return 2;
    }
    s3_conf_t c = {.endpoint = env("FT_S3_ENDPOINT"),
                   .bucket = env("FT_S3_BUCKET"),
                   .region = env("FT_S3_REGION"),
                   .access_key = env("FT_S3_ACCESS_KEY"),
                   .secret_key = env("FT_S3_SECRET_KEY")};
    s3_t *s = NULL;
    if (s3_new(&c, &s) != FT_OK) {
        fprintf(stderr, "ft_s3: bad endpoint\n");
        return 2;
    }
    s3_res_t res;
    int rc = 2;
    const char *cmd = argv[1];
    if (strcmp(cmd, "mkbucket") == 0) {
        rc = report(s3_bucket_create(s, argc > 2 && strcmp(argv[2], "lock") == 0, &res), &res);
    } else if (strcmp(cmd, "put") == 0 && argc >= 4) {
        int fd = open(argv[3], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            perror(argv[3]);
            return 2;
        }
        uint8_t *buf = malloc((size_t)st.st_size + 1);
        if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
            return 2;
        }
        s3sig_digest_t *d = s3sig_digest_new();
        char sha[S3SIG_SHA256_HEX], md5[S3SIG_MD5_B64];
        s3sig_digest_update(d, buf, (size_t)st.st_size);
        s3sig_digest_final(&d, sha, md5);
        free(buf);
        if (argc > 4 && strcmp(argv[4], "badsha") == 0) {
            sha[0] = sha[0] == '0' ? '1' : '0';
        } else if (argc > 4 && strcmp(argv[4], "badmd5") == 0) {
            md5[0] = md5[0] == 'A' ? 'B' : 'A';
        }
        s3_body_t b = {fd, 0, (uint64_t)st.st_size, sha, md5};
        rc = report(s3_put(s, argv[2], &b, NULL, 0, &res), &res);
        close(fd);
    } else if (strcmp(cmd, "get") == 0 && argc >= 4) {
        int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            perror(argv[3]);
            return 2;
        }
        rc = report(s3_get(s, argv[2], fd, &res), &res);
        close(fd);
    } else if (strcmp(cmd, "head") == 0 && argc >= 3) {
        rc = report(s3_head(s, argv[2], &res), &res);
        if (rc == 0) {
            printf("%llu\n", (unsigned long long)res.length);
        }
    } else if ((strcmp(cmd, "retention") == 0 || strcmp(cmd, "legalhold") == 0) && argc >= 3) {
        s3sig_pair_t q = {strcmp(cmd, "retention") == 0 ? "retention" : "legal-hold", NULL};
        char out[4096];
        s3_call_t call = {.method = "GET",
                          .key = argv[2],
                          .query = &q,
                          .n_query = 1,
                          .out_fd = -1,
                          .out = out,
                          .out_len = sizeof out};
        rc = report(s3_call(s, &call, &res), &res);
        if (rc == 0) {
            printf("%s\n", out);
        }
    } else if (strcmp(cmd, "list") == 0 && argc >= 3) {
        s3sig_pair_t q[] = {{"list-type", "2"}, {"prefix", argv[2]}};
        char out[65536];
        s3_call_t call = {.method = "GET",
                          .query = q,
                          .n_query = 2,
                          .out_fd = -1,
                          .out = out,
                          .out_len = sizeof out};
        rc = report(s3_call(s, &call, &res), &res);
        for (char *p = out; rc == 0 && (p = strstr(p, "<Key>")) != NULL;) {
            p += 5;
            char *e = strstr(p, "</Key>");
            if (!e) {
                break;
            }
            printf("%.*s\n", (int)(e - p), p);
            p = e;
        }
    } else {
        fprintf(stderr, "ft_s3: unknown command or missing arguments\n");
    }
    s3_destroy(&s);
    return rc;
}
