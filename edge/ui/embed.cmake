# Writes OUT, a C file holding every file of DIR (the screen's pages) as a
# byte array, and uiassets_find (edge/ui/uiassets.h) over them.
file(GLOB names RELATIVE ${DIR} ${DIR}/*)
list(SORT names)
set(arrays "")
set(rows "")
set(n 0)
foreach(name ${names})
  file(READ ${DIR}/${name} hex HEX)
  string(LENGTH "${hex}" digits)
  math(EXPR size "${digits} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  set(mime "application/octet-stream")
  if(name MATCHES "\\.html$")
    set(mime "text/html; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(mime "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(mime "text/css; charset=utf-8")
  elseif(name MATCHES "\\.svg$")
    set(mime "image/svg+xml")
  elseif(name MATCHES "\\.png$")
    set(mime "image/png")
  endif()
  string(APPEND arrays "static const unsigned char file_${n}[] = {${bytes} 0};\n")
  string(APPEND rows "    {\"${name}\", \"${mime}\", file_${n}, ${size}},\n")
  math(EXPR n "${n} + 1")
endforeach()
file(WRITE ${OUT}.new
  "/* made by edge/ui/embed.cmake from edge/ui/www/: do not edit */\n"
  "#include \"uiassets.h\"\n#include <string.h>\n\n${arrays}\n"
  "static const uiasset_t files[] = {\n${rows}};\n\n"
  "const uiasset_t *uiassets_find(const char *name)\n{\n"
  "    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {\n"
  "        if (strcmp(files[i].name, name) == 0) {\n"
  "            return &files[i];\n"
  "        }\n"
  "    }\n"
  "    return NULL;\n}\n")
file(COPY_FILE ${OUT}.new ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.new)
