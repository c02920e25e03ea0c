# tests/lint.cmake: checks on the test and ops scripts themselves, and on the
# source tree's structure.
ft_add_script_test(lint_scripts_no_early_exit_readers_in_pipelines lint/pipes.sh TIMEOUT 60
  LABELS lint)
# The libraries' boundaries: forbidden includes per folder, no cycle
# (tests/lint/boundaries.sh; it first checks itself on planted violations).
ft_add_script_test(lint_boundaries_forbidden_includes_and_cycles lint/boundaries.sh TIMEOUT 120
  LABELS lint)
# verifier/BUILD.txt names exactly the verifier's sources (FT_VERIFY_SOURCES).
ft_add_script_test(lint_verifier_build_txt_matches_sources lint/verifier_build.sh TIMEOUT 60
  LABELS lint)
# What some libraries link, all the way down (tests/lint/links.sh): the gap
# rules link nothing but the core (they are to be linked into the edge), the
# web server links none of its API modules, the views and enrolment no
# network library, the vehicle's screen of the hub only the gap rules, the dashboard's
# API and the forwarding status no libpq (only the forwarder talks to the
# provincial PostgreSQL). Each library's link closure is written at configure time
# to BUILD/tests/lint/links/LIB.txt, one name a line.
function(ft_link_closure root out_var)
  set(seen "")
  set(todo ${root})
  while(todo)
    list(POP_FRONT todo t)
    if(t IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${t})
    if(NOT TARGET ${t})
      continue()
    endif()
    get_target_property(imported ${t} IMPORTED)
    if(imported)
      continue() # a system library (PkgConfig::X, Threads::Threads): named, not followed
    endif()
    foreach(prop INTERFACE_LINK_LIBRARIES LINK_LIBRARIES)
      get_target_property(libs ${t} ${prop})
      foreach(l IN LISTS libs)
        if(l AND NOT l MATCHES "-NOTFOUND$")
          string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" l "${l}")
          list(APPEND todo ${l})
        endif()
      endforeach()
    endforeach()
  endwhile()
  list(REMOVE_ITEM seen ${root})
  list(REMOVE_DUPLICATES seen)
  list(SORT seen)
  set(${out_var} ${seen} PARENT_SCOPE)
endfunction()
foreach(lib ft_gaps ft_web ft_views ft_devices ft_vehview ft_edgeui ft_webapi ft_provstatus)
  ft_link_closure(${lib} closure)
  string(REPLACE ";" "\n" closure "${closure}")
  file(WRITE ${CMAKE_BINARY_DIR}/tests/lint/links/${lib}.txt "${closure}\n")
endforeach()
ft_add_script_test(lint_links_gaps_only_core_web_without_its_modules lint/links.sh TIMEOUT 60
  LABELS lint)
ft_add_script_test(lint_run_script_ends_what_a_test_leaves_or_a_timeout_kills lint/run_script.sh
  TIMEOUT 120 LABELS lint)
