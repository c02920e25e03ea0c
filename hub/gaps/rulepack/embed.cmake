# Writes OUT, a C file defining rules_default_text[] with the bytes of IN.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* generated from default.rules: do not edit */\n"
  "const char rules_default_text[] = {${bytes} 0x00};\n")
