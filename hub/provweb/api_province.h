/* api_province.h: the provincial dashboard's module (api_province.c). */
#ifndef FT_API_PROVINCE_H
#define FT_API_PROVINCE_H

#include "web.h"

extern const web_module_t api_province_module;

#endif
