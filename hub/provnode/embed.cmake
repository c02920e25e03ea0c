# Writes OUT, a C file defining NAME[] with the bytes of IN (NUL-terminated).
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* generated from ${IN_NAME}: do not edit */\n"
  "const char ${NAME}[] = {${bytes} 0x00};\n")
