/* dmcrypt_test.c: the dm-crypt detector on fake sysfs trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dmcrypt.h"
#include "fsutil.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char root[512];
} fx_t;

/* Writes text to root/rel (making directories). */
static void put(fx_t *fx, const char *rel, const char *text)
{
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s/%s", fx->root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(fsutil_mkdirs(dir, 0700), FT_OK);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", text);
    fclose(f);
}

/* Makes root/rel a symlink to target (relative, as sysfs does). */
static void link_to(fx_t *fx, const char *rel, const char *target)
{
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s/%s", fx->root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(fsutil_mkdirs(dir, 0700), FT_OK);
    assert_int_equal(symlink(target, path), 0);
}

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    testutil_tmpdir(fx->root, sizeof fx->root, "dmcrypt");
    /* sda: partitions 1 (plain), 2 (LUKS on it: dm-0), 3 (an LVM PV: dm-2). */
    put(fx, "devices/pci0/ata1/block/sda/dev", "8:0");
    put(fx, "devices/pci0/ata1/block/sda/sda1/partition", "1");
    put(fx, "devices/pci0/ata1/block/sda/sda2/partition", "2");
    put(fx, "devices/pci0/ata1/block/sda/sda3/partition", "3");
    /* dm-0: LUKS2 on sda2. */
    put(fx, "devices/virtual/block/dm-0/dm/uuid", "CRYPT-LUKS2-0123456789abcdef-luks-sda2");
    link_to(fx, "devices/virtual/block/dm-0/slaves/sda2", "../../../../pci0/ata1/block/sda/sda2");
    /* dm-1: LVM on dm-0 (LVM on LUKS). */
    put(fx, "devices/virtual/block/dm-1/dm/uuid", "LVM-AbCdEf0123");
    link_to(fx, "devices/virtual/block/dm-1/slaves/dm-0", "../../dm-0");
    /* dm-2: LVM straight on sda3 (not encrypted). */
    put(fx, "devices/virtual/block/dm-2/dm/uuid", "LVM-Plain0123");
    link_to(fx, "devices/virtual/block/dm-2/slaves/sda3", "../../../../pci0/ata1/block/sda/sda3");
    /* dm-3: plain dm-crypt with a partition table inside (dm-3p1). */
    put(fx, "devices/virtual/block/dm-3/dm/uuid", "CRYPT-PLAIN-cr_data");
    put(fx, "devices/virtual/block/dm-3/dm-3p1/partition", "1");
    link_to(fx, "dev/block/8:1", "../../devices/pci0/ata1/block/sda/sda1");
    link_to(fx, "dev/block/8:2", "../../devices/pci0/ata1/block/sda/sda2");
    link_to(fx, "dev/block/253:0", "../../devices/virtual/block/dm-0");
    link_to(fx, "dev/block/253:1", "../../devices/virtual/block/dm-1");
    link_to(fx, "dev/block/253:2", "../../devices/virtual/block/dm-2");
    link_to(fx, "dev/block/259:0", "../../devices/virtual/block/dm-3/dm-3p1");
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    testutil_rmrf(fx->root);
    free(fx);
    return 0;
}

static void luks_device_is_encrypted(void **state)
{
    fx_t *fx = *state;
    dmcrypt_t d;
    assert_int_equal(dmcrypt_check_dev(fx->root, 253, 0, &d), FT_OK);
    assert_int_equal(d.state, DMCRYPT_ENCRYPTED);
    assert_string_equal(d.device, "dm-0");
    assert_string_equal(d.crypt, "dm-0");
}

static void lvm_on_luks_is_encrypted_through_its_slaves(void **state)
{
    fx_t *fx = *state;
    dmcrypt_t d;
    assert_int_equal(dmcrypt_check_dev(fx->root, 253, 1, &d), FT_OK);
    assert_int_equal(d.state, DMCRYPT_ENCRYPTED);
    assert_string_equal(d.device, "dm-1");
    assert_string_equal(d.crypt, "dm-0");
}

static void partition_inside_dm_crypt_is_encrypted(void **state)
{
    fx_t *fx = *state;
    dmcrypt_t d;
    assert_int_equal(dmcrypt_check_dev(fx->root, 259, 0, &d), FT_OK);
    assert_int_equal(d.state, DMCRYPT_ENCRYPTED);
    assert_string_equal(d.device, "dm-3p1");
    assert_string_equal(d.crypt, "dm-3");
}

static void plain_disk_and_plain_lvm_are_not(void **state)
{
    fx_t *fx = *state;
    dmcrypt_t d;
    assert_int_equal(dmcrypt_check_dev(fx->root, 8, 1, &d), FT_OK);
    assert_int_equal(d.state, DMCRYPT_PLAIN);
    assert_string_equal(d.device, "sda1");
    assert_string_equal(d.crypt, "");
    /* The partition LUKS sits on is itself plain: only what is above it is not. */
    assert_int_equal(dmcrypt_check_dev(fx->root, 8, 2, &d), FT_OK);
    assert_int_equal(d.state, DMCRYPT_PLAIN);
    assert_int_equal(dmcrypt_check_dev(fx->root, 253, 2, &d), FT_OK);
    assert_int_equal(d.state, DMCRYPT_PLAIN);
    assert_string_equal(d.device, "dm-2");
}

static void missing_device_or_sysfs_is_unknown(void **state)
{
    fx_t *fx = *state;
    dmcrypt_t d;
    /* tmpfs, overlay: anonymous device numbers (major 0). */
    assert_int_equal(dmcrypt_check_dev(fx->root, 0, 45, &d), FT_OK);
    assert_int_equal(d.state, DMCRYPT_UNKNOWN);
    assert_non_null(strstr(d.why, "tmpfs"));
    assert_int_equal(dmcrypt_check_dev(fx->root, 8, 99, &d), FT_OK);
    assert_int_equal(d.state, DMCRYPT_UNKNOWN);
    assert_non_null(strstr(d.why, "8:99"));
    char nosys[600];
    snprintf(nosys, sizeof nosys, "%s/devices", fx->root);
    assert_int_equal(dmcrypt_check_dev(nosys, 8, 1, &d), FT_OK);
    assert_int_equal(d.state, DMCRYPT_UNKNOWN);
    assert_non_null(strstr(d.why, "no sysfs"));
    assert_int_equal(dmcrypt_check(fx->root, "/no/such/dir/here", &d), FT_ENOTFOUND);
    /* A real directory against the real /sys: some verdict, never a failure. */
    assert_int_equal(dmcrypt_check("/sys", fx->root, &d), FT_OK);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(luks_device_is_encrypted),
        T(lvm_on_luks_is_encrypted_through_its_slaves),
        T(partition_inside_dm_crypt_is_encrypted),
        T(plain_disk_and_plain_lvm_are_not),
        T(missing_device_or_sysfs_is_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
