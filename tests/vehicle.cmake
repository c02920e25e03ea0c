# tests/vehicle.cmake: the officers' screen of a vehicle (edge/ui,
# docs/vehicle.md) in headless Chromium (playwright-core, Debian's chromium;
# skipped visibly with exit 77 when they or ffmpeg cannot be had): sign-in,
# a low-battery checkout, a return in one tap, a site inspection without
# record_no, bad input answered with the import's words, a clip dropped in
# the inbox covering the inspection, a correction, the case and clip
# pickers, a form for every record type, each file waiting for the hub,
# every page usable on a 10-inch tablet and at 390 px, every step a signed
# log entry; then the hub starts and its alerts for the case equal the
# screen's by ID (tests/vehicle/screen.sh).
ft_add_script_test(vehicle_screen_signin_checkout_forms_clip_correction_same_alerts_as_hub
  vehicle/screen.sh TIMEOUT 600 LABELS vehicle)
set_tests_properties(vehicle_screen_signin_checkout_forms_clip_correction_same_alerts_as_hub
  PROPERTIES SKIP_RETURN_CODE 77)
# The hub's rule pack, signed in the sync Welcome, judged by on the screen;
# a changed byte falls back to the default (tests/vehicle/hubpack.sh).
ft_add_script_test(vehicle_screen_judges_by_the_hubs_signed_rule_pack vehicle/hubpack.sh
  TIMEOUT 300 LABELS vehicle)
# Officers with the real commands and a running screen: refusals change
# nothing, Argon2id only, lockout (surviving a restart), passwd, remove,
# every change in the signed log (tests/vehicle/officers.sh).
ft_add_script_test(vehicle_officers_add_lockout_restart_passwd_remove vehicle/officers.sh
  TIMEOUT 300 LABELS vehicle)
