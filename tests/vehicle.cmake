# tests/vehicle.cmake: the officers' screen of a vehicle (edge/ui,
# docs/vehicle.md) in headless Chromium (playwright-core, Debian's chromium;
# skipped visibly with exit 77 when they or ffmpeg cannot be had): sign-in,
# a low-battery checkout, a site inspection without record_no, bad input
# answered with the import's words, a clip dropped in the inbox covering the
# inspection, a correction, every step a signed log entry; then the hub
# starts and its alerts for the case equal the screen's by ID
# (tests/vehicle/screen.sh).
ft_add_script_test(vehicle_screen_signin_checkout_forms_clip_correction_same_alerts_as_hub
  vehicle/screen.sh TIMEOUT 600 LABELS vehicle)
set_tests_properties(vehicle_screen_signin_checkout_forms_clip_correction_same_alerts_as_hub
  PROPERTIES SKIP_RETURN_CODE 77)
# The hub's rule pack, signed in the sync Welcome, judged by on the screen;
# a changed byte falls back to the default (tests/vehicle/hubpack.sh).
ft_add_script_test(vehicle_screen_judges_by_the_hubs_signed_rule_pack vehicle/hubpack.sh
  TIMEOUT 300 LABELS vehicle)
