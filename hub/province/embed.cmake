# embed.cmake: writes OUT, a C file defining `const char NAME[]` with the
# bytes of IN and a closing NUL (cmake -DIN=... -DOUT=... -DNAME=... -P).
# The schema the forwarder applies is compiled in: nothing is read from
# the source tree at run time.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from ${IN} by hub/province/embed.cmake. */\nconst char ${NAME}[] = {\n${bytes}0};\n")
