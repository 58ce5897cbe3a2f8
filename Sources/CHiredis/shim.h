#ifndef SMSCRM_CHIREDIS_SHIM_H
#define SMSCRM_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
